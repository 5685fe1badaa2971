// Invariant 4: memory is bounded by the queue budget plus a constant, whatever the backlog or the
// target's speed. A 1,000,000-record backlog (about 230 MB of record data) is replicated to a
// target slowed by a Toxiproxy bandwidth limit; the daemon's RSS is sampled while the queue is full.
// And whatever the source's codec (issue 19, defect 10): a backlog of large records is copied from
// a topic of each codec with the production heap flags and the default queue.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { randomBytes, randomUUID } from 'node:crypto';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { flowConfig, startDaemon } from '../support/daemon.ts';
import { useClusterPair } from '../support/cluster-pair.ts';
import { createTopic } from '../support/kafka-client.ts';
import { mulberry32 } from '../support/random.ts';
import { endOffsetTotal } from '../support/replication-checks.ts';

const MiB = 2 ** 20;
const QUEUE_BYTES = 16 * MiB;
/**
 * What the daemon may hold beyond the queue budget: the Node.js binary's own pages (~50 MiB) and
 * the runtime and code (~25 MiB), one fetch per source broker (consumer.maxBytes, here 2 MiB of
 * decoded records, fetch-sizer.ts) and its compressed response, the encoded produce requests in
 * flight, and garbage-collection headroom. Measured figures are in docs/operations.md.
 */
const MARGIN = 160 * MiB;
/** As docs/operations.md tells operators to size the heap: old space = the queue budgets + 64 MiB. */
const NODE_OPTIONS = `--max-semi-space-size=4 --max-old-space-size=${QUEUE_BYTES / MiB + 64}`;

function rssBytes(pid: number): number {
  const match = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return match === null ? 0 : Number(match[1]) * 1024;
}

test('memory while a 1,000,000-record backlog meets a slow target', { timeout: 600_000 }, async (t) => {
  const { source, target, src } = await useClusterPair(t, { target: { toxiproxy: true } });
  const topic = `backlog-${randomUUID().slice(0, 6)}`;
  await createTopic(src, topic, { partitions: 6 });
  const producer = src.producer({ allowAutoTopicCreation: false });
  await producer.connect();
  // 64 random values in turn: lz4 finds the repeats, so the backlog compresses several times over
  // and a fetch decodes to far more than its wire size (the daemon sizes fetches by that).
  const values = Array.from({ length: 64 }, () => randomBytes(200));
  for (let start = 0; start < 1_000_000; start += 12_000) {
    await Promise.all(
      Array.from({ length: 6 }, (_, p) =>
        producer.send({
          topic,
          acks: -1,
          compression: 3, // lz4: keeps the backlog's disk and network cost low; the daemon decodes it all
          messages: Array.from({ length: 2000 }, (_, i) => ({
            partition: p,
            key: String(start + i),
            value: values[i % 64] ?? null,
          })),
        }),
      ),
    );
  }
  await producer.disconnect();
  assert.equal(await endOffsetTotal(src, topic), 1_008_000);

  // 1 MB/s from the daemon to the target: the queue fills within seconds and stays full.
  await target.network?.addToxic({ type: 'bandwidth', stream: 'upstream', attributes: { rate: 250 } });
  const daemon = await startDaemon(
    t,
    flowConfig(
      source,
      target,
      { name: topic, topics: { include: [topic] } },
      {
        queue: { maxBytes: QUEUE_BYTES, maxRecords: 1_000_000 },
        consumer: { maxBytes: '2MiB', maxBytesPerPartition: '1MiB' },
        shutdown: { timeoutMs: 2000 },
      },
    ),
    { nodeOptions: NODE_OPTIONS },
  );
  const pid = daemon.child.pid ?? 0;
  await daemon.waitForLog((l) => l['msg'] === 'flow running');
  let peak = 0;
  let fullSeen = 0;
  for (let i = 0; i < 80; i++) {
    await sleep(500);
    peak = Math.max(peak, rssBytes(pid));
  }
  let mostBytes = 0;
  for (const line of daemon.logs) {
    if (line['msg'] === 'progress') {
      fullSeen = Math.max(fullSeen, Number(line['queued'] ?? 0));
      mostBytes = Math.max(mostBytes, Number(line['queuedBytes'] ?? 0));
    }
  }
  const written = daemon.logs.filter((l) => l['msg'] === 'progress').at(-1)?.['recordsWritten'];
  await daemon.stop('SIGKILL');
  t.diagnostic(
    `peak RSS ${(peak / MiB).toFixed(0)} MiB; queue budget ${QUEUE_BYTES / MiB} MiB; most queued ${fullSeen} records, ${(mostBytes / MiB).toFixed(1)} MiB; written ${String(written)}`,
  );
  await t.test(
    'the queue fills and stays within its budget plus one chunk: backpressure reaches the fetch',
    () => {
      assert.ok(
        mostBytes >= QUEUE_BYTES * 0.75,
        `the queue never filled (at most ${mostBytes} bytes): no backpressure`,
      );
      assert.ok(
        mostBytes <= QUEUE_BYTES * (1 + 1 / 16),
        `the queue held ${mostBytes} bytes, over budget plus one chunk`,
      );
      assert.ok(
        Number(written) > 0 && Number(written) < 1_000_000,
        `written ${String(written)}: target must be slow but moving`,
      );
    },
  );
  // Measured figures and what moved them: docs/operations.md, Memory.
  await t.test('peak RSS stays within the queue budget plus 160 MiB', () => {
    assert.ok(
      peak <= QUEUE_BYTES + MARGIN,
      `peak RSS ${(peak / MiB).toFixed(0)} MiB exceeds ${QUEUE_BYTES / MiB} + ${MARGIN / MiB} MiB`,
    );
  });
});

/** The default queue budget (queue.maxBytes), which the production heap flags are sized for. */
const DEFAULT_QUEUE_BYTES = 64 * MiB;
/** The aim of issue 19 for every source codec: peak RSS within the queue budget plus 150 MiB. */
const CODEC_MARGIN = 150 * MiB;
const BACKLOG_RECORDS = 20_000;
const PARTITIONS = 6;
/** Record bytes the test's producer puts in one batch (the broker recompresses each batch whole). */
const BATCH_BYTES = 512 * 1024;

/**
 * Values of 0 B to 64 KiB, most of them small (64 KiB x u^4: 13 KiB on average, 20,000 of them
 * about 260 MB), each a piece of a log of JSON lines from 64 templates, such as topics of
 * application logs carry: lz4 compresses it about 13:1, zstd 26:1, gzip 31:1, so a fetch decodes
 * to many times its wire size.
 */
function backlogValues(seed: number): Buffer[] {
  const random = mulberry32(seed);
  const pick = <T>(list: readonly T[]): T => list[Math.floor(random() * list.length)] as T;
  const words = Array.from({ length: 512 }, () =>
    String.fromCharCode(
      ...Array.from({ length: 3 + Math.floor(random() * 8) }, () => 97 + Math.floor(random() * 26)),
    ),
  );
  const lines = Array.from(
    { length: 64 },
    () =>
      `{"level":"${pick(['debug', 'info', 'warn', 'error'])}","service":"orders","user":"user-${Math.floor(random() * 10_000)}","message":"${Array.from({ length: 3 + Math.floor(random() * 10) }, () => pick(words)).join(' ')}"}\n`,
  );
  const log: string[] = [];
  for (let length = 0; length < 4 * MiB; length += (log.at(-1) as string).length) log.push(pick(lines));
  const pool = Buffer.from(log.join(''), 'latin1');
  return Array.from({ length: BACKLOG_RECORDS }, () => {
    const size = Math.floor(64 * 1024 * random() ** 4);
    const start = Math.floor(random() * (pool.length - size));
    return pool.subarray(start, start + size);
  });
}

test(
  'memory while a backlog of 0 B - 64 KiB records is copied from a topic of each codec, production heap flags',
  { timeout: 1_800_000 },
  async (t) => {
    const { source, target, src, dst } = await useClusterPair(t);
    const values = backlogValues(19);
    const peaks: Record<string, number> = {};
    for (const codec of ['none', 'gzip', 'snappy', 'lz4', 'zstd'] as const) {
      const topic = `codec-${codec}-${randomUUID().slice(0, 6)}`;
      // The broker compresses every batch the producer sends with the topic's codec.
      await createTopic(src, topic, {
        partitions: PARTITIONS,
        config: { 'compression.type': codec === 'none' ? 'uncompressed' : codec },
      });
      const producer = src.producer({
        allowAutoTopicCreation: false,
        idempotent: true,
        maxInFlightRequests: 1,
      });
      await producer.connect();
      let messages: Array<{ partition: number; key: string; value: Buffer }> = [];
      const bytes = new Array<number>(PARTITIONS).fill(0);
      const flush = async () => {
        if (messages.length > 0) await producer.send({ topic, acks: -1, messages });
        messages = [];
        bytes.fill(0);
      };
      for (let i = 0; i < BACKLOG_RECORDS; i++) {
        const value = values[i] as Buffer;
        const partition = i % PARTITIONS;
        if ((bytes[partition] as number) + value.length > BATCH_BYTES) await flush();
        messages.push({ partition, key: String(i), value });
        bytes[partition] = (bytes[partition] as number) + value.length;
      }
      await flush();
      await producer.disconnect();
      assert.equal(await endOffsetTotal(src, topic), BACKLOG_RECORDS);

      // The production flags and environment (startDaemon's defaults), the default queue and fetch sizes.
      const daemon = await startDaemon(
        t,
        flowConfig(source, target, { name: topic, topics: { include: [topic] } }),
      );
      const pid = daemon.child.pid ?? 0;
      await daemon.waitForLog((l) => l['msg'] === 'flow running');
      const started = Date.now();
      let peak = 0;
      let copiedAt: number | undefined;
      // Sampled until everything is on the target and 5 s beyond (what is released late shows too).
      for (let checked = 0, until = Date.now() + 600_000; Date.now() < until;) {
        await sleep(100);
        peak = Math.max(peak, rssBytes(pid));
        if (copiedAt === undefined && Date.now() - checked >= 1000) {
          checked = Date.now();
          const copied = await endOffsetTotal(dst, topic).catch(() => 0);
          if (copied >= BACKLOG_RECORDS) {
            copiedAt = Date.now();
            until = copiedAt + 5000;
          }
        }
      }
      const settled = rssBytes(pid);
      await daemon.stop('SIGKILL');
      assert.ok(copiedAt !== undefined, `${codec}: the backlog was not copied within 10 minutes`);
      peaks[codec] = peak;
      t.diagnostic(
        `${codec}: peak RSS ${(peak / MiB).toFixed(0)} MiB, ${(settled / MiB).toFixed(0)} MiB 5 s after; copied in ${((copiedAt - started) / 1000).toFixed(1)} s`,
      );
    }
    // Measured figures per codec and what moved them: docs/operations.md, Memory.
    for (const [codec, peak] of Object.entries(peaks)) {
      assert.ok(
        peak <= DEFAULT_QUEUE_BYTES + CODEC_MARGIN,
        `${codec}: peak RSS ${(peak / MiB).toFixed(0)} MiB exceeds the queue budget ${DEFAULT_QUEUE_BYTES / MiB} MiB + ${CODEC_MARGIN / MiB} MiB`,
      );
    }
  },
);
