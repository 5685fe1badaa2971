// `npm run bench:launcher`: how long the local launcher takes to bring up a 1-node and a 3-node
// cluster (format + start + metadata sees every node), and each idle node's resident memory.
// Figures feed docs/development.md. Bounded: a fixed number of repetitions. With BENCH_FETCH=1,
// also how long `npm run setup` takes on an empty cache (a temporary KAFKA_MIRROR_CACHE_DIR:
// downloads the Kafka jars from Maven Central and builds toxiproxy-server).
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { startCluster } from '../test/support/kafka/index.ts';
import { repoRoot } from '../test/support/kafka/paths.ts';

function rssMb(pid: number | undefined): number {
  if (pid === undefined) return NaN;
  const match = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return match === null ? NaN : Number(match[1]) / 1024;
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] ?? NaN;
const repetitions = Number(process.env['REPETITIONS'] ?? 3);
const rows = [];
for (const nodes of [1, 3] as const) {
  const seconds: number[] = [];
  const rss: number[] = [];
  let version = '';
  for (let i = 0; i < repetitions; i++) {
    const started = performance.now();
    const cluster = await startCluster({ name: `bench${nodes}`, nodes });
    seconds.push((performance.now() - started) / 1000);
    version = cluster.kafkaVersion;
    await sleep(5000); // let start-up work (JIT, internal topics) settle before reading memory
    for (const id of cluster.nodeIds) rss.push(rssMb(cluster.pid(id)));
    await cluster.stop();
  }
  rows.push({
    nodes,
    version,
    readySeconds: +median(seconds).toFixed(1),
    idleRssMbPerNode: Math.round(median(rss)),
  });
}
let setupSecondsEmptyCache: number | undefined;
if (process.env['BENCH_FETCH'] === '1') {
  const empty = mkdtempSync(path.join(os.tmpdir(), 'kafka-mirror-bench-cache-'));
  try {
    const started = performance.now();
    execFileSync(process.execPath, [path.join(repoRoot, 'test/support/setup.ts')], {
      env: { ...process.env, KAFKA_MIRROR_CACHE_DIR: empty },
      stdio: 'inherit',
    });
    setupSecondsEmptyCache = +((performance.now() - started) / 1000).toFixed(1);
  } finally {
    rmSync(empty, { recursive: true, force: true });
  }
}
console.log(
  JSON.stringify(
    {
      machine: `${os.cpus().length} cores, ${Math.round(os.totalmem() / 2 ** 30)} GiB`,
      rows,
      setupSecondsEmptyCache,
    },
    null,
    2,
  ),
);
