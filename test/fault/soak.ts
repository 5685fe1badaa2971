// `npm run test:soak`: a bounded run (SOAK_MINUTES, default 20) at a steady rate of 1 KiB records,
// with a network fault between daemon and target every two minutes (blackhole, connection resets,
// added latency, in turn). Every 10 s it samples the daemon's RSS, lag and queue. At the end:
// nothing lost or reordered (verify), and memory does not trend upward. Samples and the verdict go
// to test/fault/results/soak.json; the audit row to latest.json (docs/reliability.md).
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Toxic } from '../support/kafka/index.ts';
import { startDaemon } from '../support/daemon.ts';
import { repoRoot } from '../support/kafka/paths.ts';
import { scrape, total } from '../support/prometheus.ts';
import { endOffsetTotal, waitForCommitted } from '../support/replication-checks.ts';
import { QUEUE_RECORDS, setup } from './scenarios.ts';
import { audit, record, resultOf, stream } from './support.ts';

const MINUTES = Number(process.env['SOAK_MINUTES'] ?? 20);
const RATE = 1000;
const VALUE_BYTES = 1024;
const SAMPLE_MS = 10_000;
const FAULT_EVERY_MS = 120_000;
/** Samples from the start of the run left out of the trend: start-up, JIT, first fills. */
const WARM_UP_MS = Math.min(300_000, (MINUTES * 60_000) / 4);

const FAULTS: ReadonlyArray<{ name: string; ms: number; toxics: Toxic[] }> = [
  {
    name: 'blackhole 20 s',
    ms: 20_000,
    toxics: [
      { type: 'timeout', stream: 'upstream', attributes: { timeout: 0 } },
      { type: 'timeout', stream: 'downstream', attributes: { timeout: 0 } },
    ],
  },
  {
    name: 'connection resets for 10 s',
    ms: 10_000,
    toxics: [{ type: 'reset_peer', stream: 'upstream', attributes: { timeout: 2000 } }],
  },
  {
    name: '200 ms round trip for 30 s',
    ms: 30_000,
    toxics: [
      { type: 'latency', stream: 'upstream', attributes: { latency: 100, jitter: 20 } },
      { type: 'latency', stream: 'downstream', attributes: { latency: 100, jitter: 20 } },
    ],
  },
];

interface Sample {
  seconds: number;
  rssMb: number;
  lagRecords: number;
  queueRecords: number;
  replicated: number;
}

function rssMb(pid: number | undefined): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  return Number(/VmRSS:\s+(\d+) kB/.exec(status)?.[1]) / 1024;
}

const mean = (values: readonly number[]) => values.reduce((a, b) => a + b, 0) / values.length;

/** Least-squares slope of y over x. */
function slope(points: ReadonlyArray<[number, number]>): number {
  const mx = mean(points.map(([x]) => x));
  const my = mean(points.map(([, y]) => y));
  const num = points.reduce((n, [x, y]) => n + (x - mx) * (y - my), 0);
  const den = points.reduce((n, [x]) => n + (x - mx) ** 2, 0);
  return den === 0 ? 0 : num / den;
}

test(
  `soak: ${MINUTES} min at ${RATE} records/s with a network fault every 2 min`,
  { timeout: (MINUTES + 15) * 60_000 },
  async (t) => {
    const s = await setup(t, { target: { toxiproxy: true } });
    const network = s.target.network;
    assert.ok(network !== undefined);
    const startedAt = Date.now();
    const daemon = await startDaemon(t, s.config);
    await daemon.waitForLog((l) => l['msg'] === 'flow running');
    const admin = await daemon.adminUrl();
    const records = Math.round(MINUTES * 60 * RATE);
    let streaming = true;
    const writing = stream(s.src, s.topic, records, RATE, VALUE_BYTES).finally(() => (streaming = false));

    const samples: Sample[] = [];
    const faults: Array<{ atSeconds: number; fault: string }> = [];
    const sampler = (async () => {
      while (streaming) {
        const metrics = await scrape(admin);
        samples.push({
          seconds: Math.round((Date.now() - startedAt) / 1000),
          rssMb: Math.round(rssMb(daemon.child.pid) * 10) / 10,
          lagRecords: total(metrics, 'kafka_mirror_lag_records'),
          queueRecords: total(metrics, 'kafka_mirror_queue_records'),
          replicated: total(metrics, 'kafka_mirror_records_total'),
        });
        await sleep(SAMPLE_MS);
      }
    })();
    const injector = (async () => {
      for (let round = 0; streaming; round++) {
        await sleep(FAULT_EVERY_MS);
        if (!streaming) break;
        const fault = FAULTS[round % FAULTS.length] as (typeof FAULTS)[number];
        faults.push({ atSeconds: Math.round((Date.now() - startedAt) / 1000), fault: fault.name });
        const names = [];
        for (const toxic of fault.toxics) names.push(await network.addToxic(toxic));
        await sleep(fault.ms);
        for (const name of names) await network.removeToxic(name);
      }
    })();
    await Promise.all([writing, sampler, injector]);

    const { src } = s;
    assert.ok(
      await waitForCommitted(src, `kafka-mirror.${s.flow}`, s.topic, 300_000),
      'the flow committed everything',
    );
    assert.equal(await daemon.stop('SIGTERM'), 0);
    const report = await audit(s.config, s.flow);
    const result = resultOf(`soak-${MINUTES}min`, await endOffsetTotal(src, s.topic), report, startedAt);
    await record(result);

    // The trend after warm-up: least-squares slope, and the last quarter against the first.
    const steady = samples.filter((x) => x.seconds * 1000 >= WARM_UP_MS);
    const quarter = Math.max(1, Math.floor(steady.length / 4));
    const firstQuarter = mean(steady.slice(0, quarter).map((x) => x.rssMb));
    const lastQuarter = mean(steady.slice(-quarter).map((x) => x.rssMb));
    const mbPerHour = slope(steady.map((x) => [x.seconds / 3600, x.rssMb]));
    const verdict = {
      date: new Date().toISOString(),
      minutes: MINUTES,
      recordsPerSecond: RATE,
      valueBytes: VALUE_BYTES,
      sampleSeconds: SAMPLE_MS / 1000,
      warmUpSeconds: WARM_UP_MS / 1000,
      faults,
      rss: {
        firstQuarterMb: Math.round(firstQuarter * 10) / 10,
        lastQuarterMb: Math.round(lastQuarter * 10) / 10,
        maxMb: Math.max(...samples.map((x) => x.rssMb)),
        slopeMbPerHour: Math.round(mbPerHour * 10) / 10,
      },
      maxLagRecords: Math.max(...samples.map((x) => x.lagRecords)),
      result,
      samples,
    };
    await writeFile(
      path.join(repoRoot, 'test/fault/results/soak.json'),
      `${JSON.stringify(verdict, null, 2)}\n`,
    );
    t.diagnostic(JSON.stringify({ ...verdict, samples: samples.length }));

    assert.equal(result.lost, 0, 'nothing lost');
    assert.equal(result.reordered, 0, 'nothing reordered');
    assert.equal(report.totals.altered, 0, 'nothing altered');
    // A blackhole or a reset can cut requests the target appended: each retry duplicates at most
    // what was in flight, within the queue.
    assert.ok(result.duplicated <= faults.length * QUEUE_RECORDS, `duplicates ${result.duplicated}`);
    assert.ok(steady.length >= 8, 'enough samples after warm-up to see a trend');
    // No upward trend: the last quarter's RSS within 10% of the first quarter's after warm-up.
    assert.ok(
      lastQuarter <= firstQuarter * 1.1,
      `RSS grew from ${firstQuarter.toFixed(1)} MiB to ${lastQuarter.toFixed(1)} MiB (${mbPerHour.toFixed(1)} MiB/h)`,
    );
  },
);
