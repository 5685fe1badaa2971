import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import path from 'node:path';
import { once } from 'node:events';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { accepts } from '../support/kafka/ports.ts';

test('a SIGKILLed test process leaves no broker running', async () => {
  const fixture = path.join(import.meta.dirname, '../support/fixtures/cluster-then-hang.ts');
  const child = spawn(process.execPath, [fixture], { stdio: ['ignore', 'pipe', 'inherit'] });
  let output = '';
  child.stdout.setEncoding('utf8');
  child.stdout.on('data', (chunk: string) => (output += chunk));
  const deadline = Date.now() + 120_000;
  while (!output.includes('\n') && Date.now() < deadline && child.exitCode === null) await sleep(100);
  const address = output.trim().split(',')[0] ?? '';
  assert.match(address, /^127\.0\.0\.1:\d+$/, `fixture printed ${JSON.stringify(output)}`);
  assert.equal(await accepts(address), true, 'the broker accepts connections while its owner lives');

  child.kill('SIGKILL');
  await once(child, 'exit');
  let alive = true;
  for (let i = 0; i < 100 && alive; i++) {
    await sleep(100);
    alive = await accepts(address);
  }
  assert.equal(
    alive,
    false,
    `broker at ${address} still accepts connections 10 s after its owner was SIGKILLed`,
  );
});
