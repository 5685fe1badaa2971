// The queue's byte budget and the fetch sizer are budgets of memory only if they charge at least
// the memory really held (DESIGN.md invariant 4). This measures it in a child process with the
// garbage collector exposed, and fails when a charge falls below it: a decoded source record and
// each of its headers (what a fetch holds until it is queued, records.ts), and queued chunks
// (record-chunk.ts chunkCharge).
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { test } from 'node:test';
import { HEADER_OVERHEAD_BYTES, RECORD_OVERHEAD_BYTES } from '../../../src/protocol/records.ts';

test('decoded records, their headers and queued chunks hold no more memory than they are charged', (t) => {
  const fixture = path.join(import.meta.dirname, 'fixtures', 'record-heap.ts');
  const measured = JSON.parse(
    execFileSync(process.execPath, ['--expose-gc', fixture], { encoding: 'utf8' }),
  ) as { plain: number; perHeader: number; chunks: Array<{ measured: number; charged: number }> };
  t.diagnostic(
    `decoded record ${measured.plain.toFixed(0)} B of heap (charged ${RECORD_OVERHEAD_BYTES}), per source header ${measured.perHeader.toFixed(0)} B (charged ${HEADER_OVERHEAD_BYTES})`,
  );
  assert.ok(measured.plain > 100, `implausible measurement: ${measured.plain} B per record`);
  assert.ok(measured.plain <= RECORD_OVERHEAD_BYTES, `a record holds ${measured.plain} B of heap`);
  assert.ok(measured.perHeader <= HEADER_OVERHEAD_BYTES, `a header holds ${measured.perHeader} B of heap`);
  for (const [i, { measured: held, charged }] of measured.chunks.entries()) {
    t.diagnostic(
      `queued chunks (${i === 0 ? 'no' : 'three'} source headers): ${held} B held, ${charged} B charged`,
    );
    // 50,000 records of 200 payload bytes and six provenance headers: well over 10 MB.
    assert.ok(held > 10_000_000, `implausible measurement: ${held} B`);
    assert.ok(held <= charged, `queued chunks hold ${held} B, charged ${charged} B`);
  }
});
