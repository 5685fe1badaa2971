// log.pretty needs pino-pretty, a development dependency that the container image leaves out
// (npm ci --omit=dev): there the daemon must still start, writing JSON lines (issue 20).
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { test } from 'node:test';
import { createLogger, prettyPrinterInstalled } from '../../../src/observability/logger.ts';

function sink(): { stream: Writable; lines: () => Array<Record<string, unknown>> } {
  let text = '';
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      text += chunk.toString();
      done();
    },
  });
  const lines = () =>
    text
      .split('\n')
      .filter((l) => l !== '')
      .map((l) => JSON.parse(l) as Record<string, unknown>);
  return { stream, lines };
}

test('log.pretty without pino-pretty installed falls back to JSON lines with one warning', () => {
  const { stream, lines } = sink();
  const logger = createLogger({
    level: 'info',
    pretty: true,
    destination: stream,
    prettyPrinter: () => false,
  });
  logger.info('hello');
  const [warning, hello, ...rest] = lines();
  assert.equal(warning?.['level'], 40);
  assert.match(String(warning?.['msg']), /log\.pretty is set but pino-pretty is not installed.*JSON lines/);
  assert.equal(hello?.['msg'], 'hello');
  assert.deepEqual(rest, []);
});

test('log.pretty with pino-pretty installed, or log.pretty off, warns about nothing', () => {
  for (const [pretty, installed] of [
    [true, true],
    [false, false],
  ] as const) {
    const { stream, lines } = sink();
    createLogger({ level: 'info', pretty, destination: stream, prettyPrinter: () => installed }).info('x');
    assert.deepEqual(
      lines().map((l) => l['msg']),
      ['x'],
    );
  }
});

test('pino-pretty resolves in the development tree (a devDependency)', () => {
  assert.equal(prettyPrinterInstalled(), true);
});
