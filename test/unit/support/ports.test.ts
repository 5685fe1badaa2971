// Port claims shared by parallel test processes (test/support/kafka/ports.ts): a port another live
// process chose is never handed out here; the claim of a SIGKILLed process is taken over.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { test } from 'node:test';
import { claimPort } from '../../support/kafka/ports.ts';

const CHILD = `
import { freePorts } from ${JSON.stringify(new URL('../../support/kafka/ports.ts', import.meta.url).href)};
console.log(JSON.stringify(await freePorts(3)));
setInterval(() => {}, 1000);
`;

test('ports another live test process chose are not claimed here; once it is killed they are', async () => {
  const child = spawn(process.execPath, ['--input-type=module', '-e', CHILD], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  try {
    const [line] = (await once(createInterface({ input: child.stdout }), 'line')) as [string];
    const ports = JSON.parse(line) as number[];
    assert.equal(ports.length, 3);
    for (const port of ports) assert.equal(claimPort(port), false, `port ${port} is the child's`);
    child.kill('SIGKILL');
    await once(child, 'exit');
    for (const port of ports) assert.equal(claimPort(port), true, `port ${port} taken over`);
    for (const port of ports) assert.equal(claimPort(port), false, `port ${port} is ours now, not twice`);
  } finally {
    child.kill('SIGKILL');
  }
});
