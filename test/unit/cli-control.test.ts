// The control commands against a real HTTP server that answers as the daemon's /control/ does:
// what they send (path, token, body), what they print and their exit codes.
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { ExitCode, main } from '../../src/cli.ts';

const TOKEN = 'cli-control-token-0123456789';

function capture() {
  const io = { stdout: '', stderr: '' };
  return { io, sink: { out: (t: string) => (io.stdout += t), err: (t: string) => (io.stderr += t) } };
}

/** A server answering every POST with `answer`; records each request. */
async function daemon(t: TestContext, answer: (path: string) => { status: number; body: unknown }) {
  const requests: Array<{ path: string; authorization?: string; body: unknown }> = [];
  const server = createServer((request: IncomingMessage, response) => {
    let text = '';
    request.on('data', (chunk: Buffer) => (text += chunk.toString()));
    request.on('end', () => {
      const path = request.url ?? '';
      requests.push({ path, authorization: request.headers.authorization, body: JSON.parse(text || '{}') });
      const { status, body } = answer(path);
      response.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.after(() => server.close());
  const admin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return { admin, requests };
}

function tokenFile(): string {
  const file = join(mkdtempSync(join(tmpdir(), 'km-cli-control-')), 'token');
  writeFileSync(file, `${TOKEN}\n`);
  return file;
}

test('pause, resume, resume-partition, log-level and refresh POST to their endpoint with the token', async (t) => {
  const { admin, requests } = await daemon(t, (path) => ({
    status: 200,
    body: path.endsWith('resume-partitions')
      ? { ok: true, action: 'resume-partitions', resumed: [{ topic: 'orders', partition: 2, from: 41 }] }
      : path === '/control/log-level'
        ? { ok: true, action: 'log-level', level: 'debug', previous: 'info' }
        : { ok: true, action: 'x', flows: [{ flow: 'us->eu', topics: 3 }] },
  }));
  const file = tokenFile();
  const run = async (...argv: string[]) => {
    const { io, sink } = capture();
    assert.equal(await main([...argv, '--admin', admin, '--token-file', file], sink), ExitCode.OK, io.stderr);
    return io.stdout;
  };
  assert.match(await run('pause', '--flow', 'us->eu'), /us->eu: paused/);
  await run('resume', '--flow', 'us->eu');
  assert.match(
    await run('resume-partition', '--flow', 'us->eu', '--topic', 'orders', '--partition', '2'),
    /orders\/2 from offset 41/,
  );
  await run('resume-partition', '--flow', 'us->eu');
  assert.match(await run('log-level', 'debug'), /log level debug \(was info\)/);
  assert.match(await run('refresh'), /us->eu: topics refreshed; 3 topic/);
  await run('refresh', '--flow', 'us->eu');
  assert.deepEqual(
    requests.map((r) => [r.path, r.body]),
    [
      ['/control/flows/us-%3Eeu/pause', {}],
      ['/control/flows/us-%3Eeu/resume', {}],
      ['/control/flows/us-%3Eeu/resume-partitions', { topic: 'orders', partition: 2 }],
      ['/control/flows/us-%3Eeu/resume-partitions', {}],
      ['/control/log-level', { level: 'debug' }],
      ['/control/refresh', {}],
      ['/control/flows/us-%3Eeu/refresh', {}],
    ],
  );
  assert.ok(requests.every((r) => r.authorization === `Bearer ${TOKEN}`));
});

test('a refusal exits 1 with the daemon reason; no answer exits 1; bad usage exits 2', async (t) => {
  const { admin } = await daemon(t, () => ({
    status: 409,
    body: {
      ok: false,
      error: { code: 'KM_CONTROL_CONFLICT', message: 'flow us->eu is paused, not running' },
    },
  }));
  const refused = capture();
  const argv = ['pause', '--flow', 'us->eu', '--admin', admin, '--token-file', tokenFile()];
  assert.equal(await main(argv, refused.sink), ExitCode.FAILURE);
  assert.match(
    refused.io.stderr,
    /refused \(HTTP 409, KM_CONTROL_CONFLICT\): flow us->eu is paused, not running/,
  );

  const gone = capture();
  assert.equal(
    await main(
      ['resume', '--flow', 'f', '--admin', 'http://127.0.0.1:9', '--token-file', tokenFile()],
      gone.sink,
    ),
    ExitCode.FAILURE,
  );
  assert.match(gone.io.stderr, /no answer from http:\/\/127\.0\.0\.1:9/);

  for (const [args, pattern] of [
    [['pause', '--admin', admin, '--token-file', tokenFile()], /pause needs --flow/],
    [['pause', '--flow', 'f', '--token-file', tokenFile()], /needs --admin <url> or --config/],
    [
      ['resume-partition', '--flow', 'f', '--topic', 't', '--admin', admin, '--token-file', tokenFile()],
      /together/,
    ],
    [['log-level', '--admin', admin, '--token-file', tokenFile()], /log-level needs a level/],
    [['pause', '--flow', 'f', '--admin', admin, '--token-file', '/nonexistent'], /cannot read --token-file/],
    [['pause', '--flow', 'f', '--partition', '1', '--admin', admin], /pause does not take --partition/],
  ] as const) {
    const { io, sink } = capture();
    assert.equal(await main([...args], sink), ExitCode.USAGE, args.join(' '));
    assert.match(io.stderr, pattern);
  }
});

test('every control command has its --help', async () => {
  for (const command of ['pause', 'resume', 'resume-partition', 'log-level', 'refresh']) {
    const { io, sink } = capture();
    assert.equal(await main([command, '--help'], sink), ExitCode.OK, command);
    assert.match(io.stdout, new RegExp(`^Usage: kafka-mirror ${command}`));
  }
});
