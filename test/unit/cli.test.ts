import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { ExitCode, main } from '../../src/cli.ts';

function capture() {
  const io = { stdout: '', stderr: '' };
  return { io, sink: { out: (t: string) => (io.stdout += t), err: (t: string) => (io.stderr += t) } };
}

test('version prints the package version', async () => {
  const { io, sink } = capture();
  const { version } = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as {
    version: string;
  };
  assert.equal(await main(['version'], sink), ExitCode.OK);
  assert.match(io.stdout, new RegExp(`^kafka-mirror ${version.replace(/\./g, '\\.')} `));
});

test('an unknown command or flag is a usage error (exit 2) that names it', async () => {
  const { io, sink } = capture();
  assert.equal(await main(['replicate-everything'], sink), ExitCode.USAGE);
  assert.match(io.stderr, /unknown command "replicate-everything"/);
  const second = capture();
  assert.equal(await main(['version', '--frobnicate'], second.sink), ExitCode.USAGE);
  assert.match(second.io.stderr, /--frobnicate/);
});

test('--help lists the commands and exits 0', async () => {
  const { io, sink } = capture();
  assert.equal(await main(['--help'], sink), ExitCode.OK);
  assert.match(io.stdout, /Usage: kafka-mirror <command>/);
});
