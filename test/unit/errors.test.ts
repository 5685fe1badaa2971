import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import * as errors from '../../src/errors/index.ts';

test('docs/errors.md lists exactly the error codes of src/errors/', () => {
  const doc = readFileSync(new URL('../../docs/errors.md', import.meta.url), 'utf8');
  const documented = [...doc.matchAll(/^\| `(KM_[A-Z_]+)` \|/gm)].map((m) => m[1]).sort();
  assert.deepEqual(documented, [...errors.errorCodes].sort());
});

test('every error class carries its own static code and the retriable flag', () => {
  const classes = Object.values(errors).filter(
    (value): value is typeof errors.KafkaMirrorError & { code: string } =>
      typeof value === 'function' && value.prototype instanceof errors.KafkaMirrorError,
  );
  assert.deepEqual(classes.map((c) => c.code).sort(), [...errors.errorCodes].sort());
  const usage = new errors.UsageError('x');
  assert.equal(usage.code, 'KM_USAGE');
  assert.equal(usage.retriable, false);
  const rejected = new errors.WriteRejectedError('t', 3, 'MESSAGE_TOO_LARGE', new Error('cause'));
  assert.equal(rejected.code, 'KM_WRITE_REJECTED');
  assert.match(rejected.message, /t\/3: MESSAGE_TOO_LARGE/);
  assert.ok(rejected.cause instanceof Error);
});
