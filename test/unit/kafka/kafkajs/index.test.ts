// src/kafka/kafkajs/index.ts applies the patches only before kafkajs's modules load, and says so
// when they cannot take effect (KM_KAFKAJS_PATCH), in a process of its own each time.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

const index = fileURLToPath(new URL('../../../../src/kafka/kafkajs/index.ts', import.meta.url));

/** The error loading index.ts throws after `first` (a kafkajs module) was loaded, as { code, patch }. */
function loadAfter(first: string): { code?: string; patch?: string } {
  const script = `
    import { createRequire } from 'node:module';
    createRequire(${JSON.stringify(index)})(${JSON.stringify(first)});
    try {
      await import(${JSON.stringify(index)});
      console.log('{}');
    } catch (error) {
      console.log(JSON.stringify({ code: error.code, patch: error.patch }));
    }`;
  const out = execFileSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8' });
  return JSON.parse(out) as { code?: string; patch?: string };
}

test('kafkajs loaded before index.ts is refused', () => {
  assert.deepEqual(loadAfter('kafkajs'), { code: 'KM_KAFKAJS_PATCH', patch: 'index.ts' });
});

test('a module swap is refused once a kafkajs module that captures the replaced one has loaded', () => {
  assert.deepEqual(loadAfter('kafkajs/src/consumer/consumerGroup.js'), {
    code: 'KM_KAFKAJS_PATCH',
    patch: 'batch.ts',
  });
});
