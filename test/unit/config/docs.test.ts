import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { renderConfigDocs } from '../../../src/config/docs.ts';

test('docs/configuration.md is up to date with the schema (run npm run docs:config)', () => {
  const committed = readFileSync(new URL('../../../docs/configuration.md', import.meta.url), 'utf8');
  assert.equal(committed, renderConfigDocs());
});

test('every key of the schema appears in the generated docs with its default', () => {
  const docs = renderConfigDocs();
  for (const key of [
    'queue.maxBytes',
    'clusters.<alias>.bootstrapServers',
    'flows[].topics.include',
    'flows[].naming',
  ]) {
    assert.ok(docs.includes(`| \`${key}\` |`), key);
  }
  assert.match(
    docs,
    /\| `queue.maxBytes` \| positive-size \| `"64MiB"` \| `KAFKA_MIRROR_QUEUE_MAX_BYTES` \|/,
  );
});
