// The search behind `offsets translate`, on synthetic target partitions (no broker): it must find
// exactly what a scan would, with gaps in both offset spaces, duplicated stretches and any hint.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { searchTarget, type Probe } from '../../../src/offsets/search.ts';

/** A target partition: records at `offsets` carrying `sources`; positions in between are gaps. */
function partition(records: ReadonlyArray<readonly [number, number]>) {
  let probes = 0;
  const probe = async (position: number): Promise<Probe | undefined> => {
    probes++;
    const r = records.find(([offset]) => offset >= position);
    return r === undefined ? undefined : { offset: r[0], sourceOffset: r[1] };
  };
  return { probe, probes: () => probes };
}

/** What a scan finds: the first record whose source offset is at or after `from`. */
function scan(records: ReadonlyArray<readonly [number, number]>, from: number) {
  const r = records.find(([, source]) => source >= from);
  return r === undefined ? undefined : { offset: r[0], sourceOffset: r[1] };
}

test('finds what a scan finds, with gaps on both sides and every hint', async () => {
  // Target offsets 10.. with a gap at 13-14 (say, deleted by compaction); source offsets with
  // gaps (transaction markers, aborted or loop-skipped records).
  const records: Array<[number, number]> = [
    [10, 100],
    [11, 101],
    [12, 105],
    [15, 106],
    [16, 110],
    [17, 111],
    [18, 120],
  ];
  const range = { start: 10, end: 19 };
  for (let from = 95; from <= 125; from++) {
    for (const hint of [undefined, 5, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 30]) {
      const { probe } = partition(records);
      assert.deepEqual(
        await searchTarget(from, range, hint, probe),
        scan(records, from),
        `from ${from}, hint ${hint}`,
      );
    }
  }
});

test('a long partition takes a logarithmic number of probes, and a handful near a good hint', async () => {
  const records = Array.from({ length: 100_000 }, (_, i) => [i, 2 * i] as [number, number]);
  const range = { start: 0, end: 100_000 };
  const far = partition(records);
  assert.deepEqual(await searchTarget(123_457, range, undefined, far.probe), {
    offset: 61_729,
    sourceOffset: 123_458,
  });
  assert.ok(far.probes() <= 20, `${far.probes()} probes without a hint`);
  const near = partition(records);
  assert.deepEqual(await searchTarget(123_457, range, 61_725, near.probe), {
    offset: 61_729,
    sourceOffset: 123_458,
  });
  assert.ok(near.probes() <= 8, `${near.probes()} probes from a hint 4 records off`);
});

test('a replayed stretch (crash of the replicator) never makes the search skip a record', async () => {
  // Source offsets 0..9, then a replay from 5 (the last commit), then on to 14.
  const sources = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14];
  const records = sources.map((s, i) => [i, s] as [number, number]);
  for (let from = 0; from <= 15; from++) {
    for (const hint of [undefined, 0, 3, 7, 10, 12, 19]) {
      const found = await searchTarget(from, { start: 0, end: 20 }, hint, partition(records).probe);
      if (from > 14) {
        assert.equal(found, undefined);
        continue;
      }
      assert.ok(found !== undefined, `from ${from}`);
      // From the found position to the end, every source offset from `from` on appears.
      const after = new Set(sources.slice(found.offset));
      for (let s = from; s <= 14; s++)
        assert.ok(after.has(s), `from ${from}, hint ${hint}: source ${s} skipped`);
      assert.ok(found.sourceOffset >= from);
    }
  }
});

test('nothing at or after the offset on the target: undefined', async () => {
  const records: Array<[number, number]> = [
    [0, 1],
    [1, 2],
  ];
  assert.equal(await searchTarget(3, { start: 0, end: 2 }, 1, partition(records).probe), undefined);
  assert.equal(await searchTarget(3, { start: 0, end: 0 }, undefined, partition([]).probe), undefined);
});
