// Any source position, not only a consumer group's commit (issue 23): `offsets translate
// --positions-file` translates every offset of both source partitions, from the log start to the
// end, and a consumer that starts at each translated offset on the target reads exactly the source
// records from that position on (no gap) and none before it (no replay). The positions include
// offsets inside compaction gaps, at transaction markers, inside an aborted transaction, and the
// target partitions hold records written on the target itself (active-active) before and between
// the replicated ones. The expected answers come from reading whole partitions; the command searches.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { createLogger, loadConfigFile, translatePositions } from '../../src/index.ts';
import { configFile, flowConfig, runCli, startDaemon } from '../support/daemon.ts';
import { useClusterPair } from '../support/cluster-pair.ts';
import { compactedTopicWithGaps, compactionRound } from '../support/compacted-topic.ts';
import {
  createTopic,
  header,
  produceAll,
  readTopic,
  withAdmin,
  type Consumed,
} from '../support/kafka-client.ts';
import { everyRecordCommitted } from '../support/replication-checks.ts';

interface Translated {
  topic: string;
  partition: number;
  sourceOffset: number;
  targetOffset: number | null;
  status: string;
  behind: number;
}

const highs = async (kafka: Parameters<typeof withAdmin>[0], topic: string) =>
  (await withAdmin(kafka, (a) => a.fetchTopicOffsets(topic)))
    .sort((a, b) => a.partition - b.partition)
    .map((p) => Number(p.high));

test(
  'any source position resumes on the target with no gap and no replay: compaction gaps, markers, aborted records, records written on the target',
  { timeout: 300_000 },
  async (t) => {
    const { source, target, src, dst } = await useClusterPair(t, {
      source: { brokerConfig: { 'log.cleaner.backoff.ms': 500 } },
    });
    const topic = `ckpt-${randomUUID().slice(0, 6)}`;
    const flow = `pos-${randomUUID().slice(0, 6)}`;
    await compactedTopicWithGaps(src, topic);
    // Transactions in both partitions: committed, aborted, committed (markers after each).
    const beforeTransactions = await highs(src, topic);
    const tx = src.producer({ transactionalId: `tx-${topic}`, idempotent: true, maxInFlightRequests: 1 });
    await tx.connect();
    for (const outcome of ['commit', 'abort', 'commit'] as const) {
      const transaction = await tx.transaction();
      await transaction.send({
        topic,
        messages: Array.from({ length: 30 }, (_, i) => ({ partition: i % 2, key: `t${i}`, value: outcome })),
      });
      await (outcome === 'commit' ? transaction.commit() : transaction.abort());
    }
    await tx.disconnect();
    const afterTransactions = await highs(src, topic);

    // Active-active: the target topic has records written on it directly, before the replicated
    // ones and, written while the flow runs, between them.
    const local = (from: number) =>
      Array.from({ length: 20 }, (_, i) => ({ partition: i % 2, key: `l${from + i}`, value: 'local' }));
    await createTopic(dst, topic, { partitions: 2 });
    await produceAll(dst, topic, local(0));
    const config = flowConfig(source, target, { name: flow, topics: { include: [topic] } });
    const daemon = await startDaemon(t, config);
    await everyRecordCommitted(src, `kafka-mirror.${flow}`, topic);
    await produceAll(dst, topic, local(20));
    await produceAll(src, topic, compactionRound(6));
    await everyRecordCommitted(src, `kafka-mirror.${flow}`, topic);
    assert.equal(await daemon.stop(), 0);

    const onSource = await readTopic(src, topic);
    const uncommitted = await readTopic(src, topic, 60_000, true);
    const onTarget = await readTopic(dst, topic);
    const ends = await highs(src, topic);
    const sourceOffsets = (p: number, all = onSource) =>
      all.filter((r) => r.partition === p).map((r) => Number(r.offset));
    const replicated = (p: number) =>
      onTarget.filter((r) => r.partition === p && header(r, 'km.src.offset') !== undefined);

    // The positions the test relies on are there, in both partitions.
    for (const p of [0, 1]) {
      const kept = new Set(sourceOffsets(p));
      const any = new Set(sourceOffsets(p, uncommitted));
      const range = (from: number, to: number) => Array.from({ length: to - from }, (_, i) => from + i);
      const compacted = range(0, beforeTransactions[p]!).filter((o) => !any.has(o));
      const markers = range(beforeTransactions[p]!, afterTransactions[p]!).filter((o) => !any.has(o));
      const aborted = [...any].filter((o) => !kept.has(o));
      assert.ok(compacted.length > 0, `partition ${p} has offsets compaction removed`);
      assert.equal(markers.length, 3, `partition ${p} has the three transaction markers`);
      assert.equal(aborted.length, 15, `partition ${p} has the aborted transaction's records`);
      const inTarget = onTarget.filter((r) => r.partition === p);
      const between = inTarget.findIndex(
        (r, i) =>
          header(r, 'km.src.offset') === undefined &&
          inTarget.slice(0, i).some((b) => header(b, 'km.src.offset') !== undefined) &&
          inTarget.slice(i).some((a) => header(a, 'km.src.offset') !== undefined),
      );
      assert.ok(between > 0, `target partition ${p} has records written on it between replicated ones`);
    }

    // Every position of both partitions, from the log start to the end, in one file.
    const dir = await mkdtemp(path.join(os.tmpdir(), 'km-positions-'));
    t.after(() => rm(dir, { recursive: true, force: true }));
    const input = path.join(dir, 'checkpoint.json');
    const positions = [0, 1].flatMap((partition) =>
      Array.from({ length: ends[partition]! + 1 }, (_, offset) => ({ topic, partition, offset })),
    );
    await writeFile(input, JSON.stringify({ positions }));
    const file = await configFile(t, config);
    const run = await runCli([
      'offsets',
      'translate',
      '--config',
      file,
      '--flow',
      flow,
      '--positions-file',
      input,
    ]);
    assert.equal(run.code, 0, run.stdout + run.stderr);
    const written = path.join(dir, 'checkpoint.translated.json');
    assert.ok(
      run.stdout.includes(`${positions.length} position(s) translated, written to ${written}`),
      run.stdout,
    );
    assert.match(run.stdout, /^translated \d+, caught-up 2$/m, 'the text counts each status');
    const translated = JSON.parse(await readFile(written, 'utf8')) as {
      flow: string;
      positions: Translated[];
    };
    assert.equal(translated.flow, flow);
    assert.deepEqual(
      translated.positions.map((p) => `${p.topic}:${p.partition}:${p.sourceOffset}`),
      positions.map((p) => `${p.topic}:${p.partition}:${p.offset}`),
      'one translation per position, in the order given',
    );

    // A consumer starting at each translated offset reads exactly the source records from the
    // position on (no gap), and the target records before it come from before the position (no replay).
    const wrong: string[] = [];
    const statuses = new Map<string, number>();
    const sourceOf = (records: readonly Consumed[]) => records.map((r) => Number(header(r, 'km.src.offset')));
    for (const result of translated.positions) {
      const { partition: p, sourceOffset: o, targetOffset: at, status } = result;
      statuses.set(status, (statuses.get(status) ?? 0) + 1);
      const expected = sourceOffsets(p).filter((offset) => offset >= o);
      const copies = replicated(p);
      const read = sourceOf(copies.filter((r) => at !== null && Number(r.offset) >= at));
      const before = sourceOf(copies.filter((r) => at !== null && Number(r.offset) < at));
      const atEnd = status === 'caught-up' && at === onTarget.filter((r) => r.partition === p).length;
      const fine =
        (status === 'translated' || atEnd) &&
        JSON.stringify(read) === JSON.stringify(expected) &&
        before.every((offset) => offset < o);
      if (!fine)
        wrong.push(`${p}:${o} -> ${at} ${status}: reads ${read.length}, expected ${expected.length}`);
    }
    t.diagnostic(`${translated.positions.length} positions: ${JSON.stringify(Object.fromEntries(statuses))}`);
    assert.deepEqual(wrong, [], 'every position resumes with no gap and no replay');
    assert.equal(statuses.get('caught-up'), 2, 'the two partition ends are caught up');

    // The library function gives the same answers (here for a few positions).
    const some = [positions[0]!, positions[7]!, positions.at(-2)!, positions[ends[0]! + 20]!];
    const library = await translatePositions(await loadConfigFile(file), createLogger({ level: 'error' }), {
      flow,
      positions: some,
    });
    const key = (p: {
      partition: number;
      sourceOffset: number | null;
      targetOffset: number | null;
      status: string;
    }) => `${p.partition}:${p.sourceOffset} -> ${p.targetOffset} ${p.status}`;
    assert.deepEqual(
      library.positions.map(key),
      some.map((s) => key(translated.positions[positions.indexOf(s)]!)),
    );

    // Records the stopped flow has not copied: a position after them is pending (no offset
    // guessed); the old end is still caught up (the consumer continues with them once copied).
    await produceAll(
      src,
      topic,
      Array.from({ length: 5 }, (_, i) => ({ partition: 1, key: `n${i}`, value: 'new' })),
    );
    const out = path.join(dir, 'out.json');
    await writeFile(
      input,
      JSON.stringify({
        positions: [
          { topic, partition: 1, offset: ends[1]! + 5 },
          { topic, partition: 1, offset: ends[1]! },
        ],
      }),
    );
    const later = await runCli([
      'offsets',
      'translate',
      '--config',
      file,
      '--flow',
      flow,
      '--positions-file',
      input,
      '--out',
      out,
      '--json',
    ]);
    assert.equal(later.code, 0, later.stderr);
    assert.deepEqual(
      JSON.parse(later.stdout),
      JSON.parse(await readFile(out, 'utf8')),
      '--json prints the file',
    );
    const [pending, caughtUp] = (JSON.parse(later.stdout) as { positions: Translated[] }).positions;
    assert.deepEqual(
      pending && { status: pending.status, targetOffset: pending.targetOffset, behind: pending.behind },
      { status: 'pending', targetOffset: null, behind: 5 },
    );
    assert.deepEqual(caughtUp && { status: caughtUp.status, targetOffset: caughtUp.targetOffset }, {
      status: 'caught-up',
      targetOffset: onTarget.filter((r) => r.partition === 1).length,
    });

    // --position, repeatable, prints a table; positions the flow does not have are refused (exit 2).
    const translate = (...more: string[]) =>
      runCli(['offsets', 'translate', '--config', file, '--flow', flow, ...more]);
    const text = await translate('--position', `${topic}:1:${ends[1]! + 5}`, '--position', `${topic}:0:0`);
    assert.equal(text.code, 0, text.stderr);
    assert.match(
      text.stdout,
      new RegExp(`^${topic}\\s+1\\s+${topic}\\s+${ends[1]! + 5}\\s+-\\s+pending\\s+5$`, 'm'),
    );
    assert.match(text.stdout, new RegExp(`^${topic}\\s+0\\s+${topic}\\s+0\\s+\\d+\\s+translated\\s+0$`, 'm'));
    for (const bad of [`nosuch-${topic}:0:0`, `${topic}:2:0`, `${topic}:0:${ends[0]! + 1}`]) {
      const refused = await translate('--position', `${topic}:0:0`, '--position', bad);
      assert.equal(refused.code, 2, refused.stdout + refused.stderr);
      assert.ok(refused.stderr.includes(`position ${bad}:`), refused.stderr);
      assert.equal(refused.stdout, '');
    }
  },
);
