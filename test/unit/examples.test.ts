// Every example in config/ is a valid configuration (and stays one).
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { test } from 'node:test';
import { loadConfigFile } from '../../src/config/index.ts';

const dir = new URL('../../config/', import.meta.url);
const examples = readdirSync(dir).filter((f) => /\.(ya?ml|json)$/.test(f));

test('config/ has examples', () => assert.ok(examples.length > 0));

for (const file of examples) {
  test(`config/${file} is valid`, async () => {
    const config = await loadConfigFile(new URL(file, dir).pathname);
    assert.ok(config.flows.length > 0);
  });
}
