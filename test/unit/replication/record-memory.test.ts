// The queue's byte budget is a budget of memory only if it charges each record at least the heap
// it really holds (DESIGN.md invariant 4). This measures that heap in a child process with the
// garbage collector exposed, and fails when the charge in records.ts falls below it.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { test } from 'node:test';
import { HEADER_OVERHEAD_BYTES, RECORD_OVERHEAD_BYTES } from '../../../src/replication/records.ts';

test('a queued record and each of its source headers cost no more heap than the budget charges', (t) => {
  const fixture = path.join(import.meta.dirname, 'fixtures', 'record-heap.ts');
  const measured = JSON.parse(
    execFileSync(process.execPath, ['--expose-gc', fixture], { encoding: 'utf8' }),
  ) as { plain: number; perHeader: number };
  t.diagnostic(
    `heap per queued record ${measured.plain.toFixed(0)} B (charged ${RECORD_OVERHEAD_BYTES}), per source header ${measured.perHeader.toFixed(0)} B (charged ${HEADER_OVERHEAD_BYTES})`,
  );
  assert.ok(measured.plain > 100, `implausible measurement: ${measured.plain} B per record`);
  assert.ok(measured.plain <= RECORD_OVERHEAD_BYTES, `a record holds ${measured.plain} B of heap`);
  assert.ok(measured.perHeader <= HEADER_OVERHEAD_BYTES, `a header holds ${measured.perHeader} B of heap`);
});
