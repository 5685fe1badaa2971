// The Permissions tables of docs/operations.md are what test/integration/permissions.test.ts grants
// on real brokers: each feature's table must be there and parse (known resources, patterns,
// operations, placeholders), so a table cannot drift into something no test reads.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { PERMISSION_FEATURES, permissionBindings, permissionTable } from '../support/permissions.ts';

test('docs/operations.md has a parsable Permissions table per feature', () => {
  for (const feature of PERMISSION_FEATURES) {
    const rows = permissionTable(feature);
    assert.ok(rows.length > 0, feature);
  }
});

test('the at-least-once table is a consumer on the source and a producer on the target', () => {
  const rows = permissionTable('At least once');
  const { source, target } = permissionBindings(
    rows,
    { '<topic>': 'orders', '<remote topic>': 'us.orders', '<group>': 'kafka-mirror.us-asia' },
    'User:mirror',
  );
  assert.deepEqual(
    source.map((b) => [b.resourceType, b.resourceName, b.operation]),
    [
      [2, 'orders', 3],
      [3, 'kafka-mirror.us-asia', 3],
    ],
  );
  assert.deepEqual(
    target.map((b) => [b.resourceType, b.resourceName, b.operation]),
    [[2, 'us.orders', 4]],
  );
});

test('a table naming something unknown, or a placeholder without a value, throws', () => {
  const doc = (row: string) =>
    `## Permissions\n\n### At least once\n\n| cluster | resource | pattern | name | operations | what for |\n| --- | --- | --- | --- | --- | --- |\n${row}\n`;
  assert.throws(
    () => permissionTable('At least once', doc('| source | Topic | literal | `<topic>` | Reed | x |')),
    /unknown operation "Reed"/,
  );
  assert.throws(
    () => permissionTable('At least once', doc('| source | Topic | literal | `<topics>` | Read | x |')),
    /unknown placeholder "<topics>"/,
  );
  assert.throws(
    () => permissionTable('Heartbeats', doc('| source | Topic | literal | `x` | Read | x |')),
    /no "### Heartbeats"/,
  );
  const rows = permissionTable(
    'At least once',
    doc('| target | Topic | literal | `<remote topic>` | Write | x |'),
  );
  assert.throws(() => permissionBindings(rows, {}, 'User:mirror'), /no value given for <remote topic>/);
});
