// `npm run bench`: kafka-mirror against MirrorMaker 2 (default and tuned) and the clusters' own
// ceiling (Kafka's perf tools), side by side on the same local clusters and the same data
// (issue 8). Method: docs/performance.md. `npm run bench -- --quick` is a smoke run.
//
// Bounded: a fixed number of runs, each with a timeout (a run that times out is reported as
// failed and the benchmark goes on); every process is stopped in finally blocks, and the
// launcher's reaper kills whatever is left if this process dies.
import { execFileSync } from 'node:child_process';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { startClusterPair } from '../test/support/cluster-pair.ts';
import { ensureKafkaRuntime, startCluster, type KafkaCluster } from '../test/support/kafka/index.ts';
import { cacheDir, repoRoot } from '../test/support/kafka/paths.ts';
import { producePerformance } from '../test/support/kafka/perf-tools.ts';
import { checkBuild } from './kafka-mirror-process.ts';
import { renderMarkdown, summarise, type BenchReport, type RunResult } from './results.ts';
import { runCatchUp, runSteady, type RunContext } from './runs.ts';
import { targets } from './targets.ts';
import {
  benchOptions,
  SCENARIO_NAMES,
  THROUGHPUT_PRODUCER_PROPS,
  type Scenario,
  type ScenarioName,
} from './scenarios.ts';
import {
  client,
  countRecords,
  createTopic,
  deleteGroups,
  deleteTopicsExcept,
  warmUpGroupCoordinator,
} from './topics.ts';

const startedAt = Date.now();
const options = benchOptions(process.argv.slice(2));
const notes: string[] = [];
const buildWarning = await checkBuild();
if (buildWarning !== undefined) {
  console.warn(`warning: ${buildWarning}`);
  notes.push(`Warning at start: ${buildWarning}.`);
}
const runtime = await ensureKafkaRuntime();
const logDir = path.join(cacheDir, 'bench', 'replication');
await rm(logDir, { recursive: true, force: true });
await mkdir(logDir, { recursive: true });
const loadAverageAtStart = os.loadavg();

// kafkajs schedules a timer with a negative delay on Node 24 (docs/development.md, known client
// quirks): harmless, and not worth a stack of lines in the benchmark's output.
process.removeAllListeners('warning');
process.on('warning', (warning) => {
  if (warning.name !== 'TimeoutNegativeWarning') console.warn(warning);
});

/** Clusters to stop on Ctrl-C. */
const liveClusters = new Set<KafkaCluster>();

// Ctrl-C: stop the clusters (their data directories are removed, logs kept), then exit through
// process.exit so the launcher's exit hook SIGKILLs every remaining child (replicators, tools).
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    console.error(`\n${signal}: stopping every process of the benchmark`);
    const stopped = Promise.all([...liveClusters].map((c) => c.stop({ keepLogs: true })));
    void Promise.race([stopped, sleep(10_000)]).finally(() => process.exit(130));
  });
}

function machine(): string {
  const cpus = os.cpus();
  // `java -version` prints to stderr.
  const java =
    execFileSync('sh', ['-c', 'java -version 2>&1'], { encoding: 'utf8' }).split('\n')[0] ?? 'java';
  return (
    `${cpus.length} × ${cpus[0]?.model.trim() ?? 'unknown CPU'}, ${Math.round(os.totalmem() / 2 ** 30)} GiB RAM, ` +
    `${os.type()} ${os.release()}, Node ${process.version}, ${java.replaceAll('"', '')}`
  );
}

const log = (text: string) =>
  console.log(`[${((Date.now() - startedAt) / 1000).toFixed(0).padStart(5)} s] ${text}`);

function describe(run: RunResult): string {
  if (run.error !== undefined) return `FAILED: ${run.error.split('\n').slice(0, 3).join(' | ')}`;
  const rate =
    run.seconds === null ? '' : `${Math.round(run.records / run.seconds).toLocaleString('en-US')} records/s`;
  const latency = run.p99Ms === null ? '' : `, p50 ${run.p50Ms} ms, p99 ${run.p99Ms} ms, max ${run.maxMs} ms`;
  return `${run.seconds?.toFixed(2)} s (wall ${run.wallSeconds?.toFixed(1) ?? '–'} s), ${rate}${latency}, peak RSS ${run.maxRssMb?.toFixed(0)} MiB, CPU ${run.cpuSeconds?.toFixed(1)} s`;
}

/** Systems in a different order each repetition, so no system always runs first (cold) or after the same neighbour. */
function rotate<T>(items: readonly T[], by: number): T[] {
  const k = by % Math.max(1, items.length);
  return [...items.slice(k), ...items.slice(0, k)];
}

const runs: RunResult[] = [];
let nextRunId = 1;
/**
 * The rate each steady scenario takes its share of: kafka-mirror's backlog-1k median records/s of
 * this run, or twice BENCH_STEADY_RATE (which sets steady-50pct's rate; steady-25pct runs at half of it).
 */
let backlogRate = options.steadyRate === undefined ? undefined : options.steadyRate * 2;
/** Records/s each steady scenario ran at. */
const steadyRates: Partial<Record<ScenarioName, number>> = {};

async function runScenario(
  scenario: Scenario,
  source: KafkaCluster,
  plainTarget: KafkaCluster,
): Promise<void> {
  let target = plainTarget;
  let wan: KafkaCluster | undefined;
  let completed = false;
  const sourceKafka = client(source.bootstrapServers);
  try {
    if (scenario.oneWayLatencyMs > 0) {
      log(`${scenario.name}: starting a target behind Toxiproxy, ${scenario.oneWayLatencyMs} ms each way`);
      wan = await startCluster({ name: 'target-wan', jvmProfile: 'bench', toxiproxy: true });
      liveClusters.add(wan);
      const network = wan.network;
      if (network === undefined) throw new Error('the wan target was started without Toxiproxy');
      const latency = { latency: scenario.oneWayLatencyMs, jitter: 0 };
      await network.addToxic({
        name: 'wan-down',
        type: 'latency',
        stream: 'downstream',
        attributes: latency,
      });
      await network.addToxic({ name: 'wan-up', type: 'latency', stream: 'upstream', attributes: latency });
      await warmUpGroupCoordinator(client(wan.bootstrapServers));
      target = wan;
    }
    const targetKafka = client(target.bootstrapServers);
    const steady = scenario.steadySeconds !== undefined;
    const topic = `bench-${scenario.name}`;
    let rate = 0;
    if (steady) {
      if (backlogRate === undefined) {
        throw new Error(
          `${scenario.name} runs at a share of kafka-mirror’s backlog-1k rate: run backlog-1k first or set BENCH_STEADY_RATE`,
        );
      }
      rate = Math.max(100, Math.round(backlogRate * (scenario.steadyShare ?? 0.5)));
      steadyRates[scenario.name] = rate;
      log(
        `${scenario.name}: ${rate} records/s of ${scenario.recordSize} B for ${scenario.steadySeconds} s per run`,
      );
    } else {
      log(
        `${scenario.name}: preloading ${scenario.records} records of ${scenario.recordSize} B into ${topic}`,
      );
      await createTopic(sourceKafka, topic, { partitions: scenario.partitions });
      await producePerformance(
        runtime,
        `${scenario.name}-preload`,
        source.bootstrapServers,
        topic,
        {
          records: scenario.records,
          recordSize: scenario.recordSize,
          throughput: -1,
          props: THROUGHPUT_PRODUCER_PROPS,
        },
        logDir,
        options.runTimeoutMs,
      );
      const count = await countRecords(sourceKafka, topic);
      if (count !== scenario.records)
        throw new Error(`preload wrote ${count} records, not ${scenario.records}`);
    }
    for (let repetition = 1; repetition <= options.repetitions; repetition++) {
      for (const system of rotate(scenario.systems, repetition - 1)) {
        const ctx: RunContext = {
          runtime,
          source,
          target,
          sourceKafka,
          targetKafka,
          scenario,
          repetition,
          runId: nextRunId++,
          logDir,
          timeoutMs: options.runTimeoutMs,
        };
        const run = steady
          ? await runSteady(ctx, system, rate)
          : await runCatchUp(ctx, system, topic, scenario.records);
        runs.push(run);
        log(`${scenario.name} #${repetition} ${system}: ${describe(run)}`);
        await deleteTopicsExcept(targetKafka);
        await deleteTopicsExcept(sourceKafka, [topic]);
        await Promise.all([deleteGroups(sourceKafka), deleteGroups(targetKafka)]);
        await sleep(options.settleMs);
      }
    }
    if (scenario.name === 'backlog-1k' && backlogRate === undefined) {
      const mirror = summarise(runs).find((r) => r.name === 'backlog-1k' && r.system === 'kafka-mirror');
      if (mirror?.recordsPerSec != null) backlogRate = mirror.recordsPerSec;
    }
    completed = true;
  } finally {
    // The next scenario starts from an empty source, whatever happened in this one.
    await deleteTopicsExcept(sourceKafka).catch((error: unknown) =>
      log(`could not empty the source: ${String(error)}`),
    );
    const failed = !completed || runs.some((r) => r.scenario === scenario.name && r.error !== undefined);
    await wan?.stop({ keepLogs: failed });
    if (wan !== undefined) liveClusters.delete(wan);
  }
}

let crashed = true;
try {
  log(
    `scenarios ${options.scenarios.map((s) => s.name).join(', ')}; scale ${options.scale}; ` +
      `${options.repetitions} repetition(s); logs in ${path.relative(repoRoot, logDir)}`,
  );
  const { source, target } = await startClusterPair({ both: { jvmProfile: 'bench' } });
  liveClusters.add(source).add(target);
  await Promise.all([source, target].map((c) => warmUpGroupCoordinator(client(c.bootstrapServers))));
  log(
    `clusters ready: source ${source.bootstrapServers.join(',')}, target ${target.bootstrapServers.join(',')}`,
  );
  for (const scenario of options.scenarios) {
    try {
      await runScenario(scenario, source, target);
    } catch (error) {
      // One scenario that cannot run (its preload failed, no steady rate) does not stop the others.
      const message = `${scenario.name} did not run: ${error instanceof Error ? error.message : String(error)}`;
      log(message);
      notes.push(message);
      process.exitCode = 1;
    }
  }
  crashed = false;
} finally {
  // Broker logs are kept (.cache/runs/) when anything went wrong.
  const keepLogs = crashed || process.exitCode === 1 || runs.some((r) => r.error !== undefined);
  await Promise.all([...liveClusters].map((c) => c.stop({ keepLogs })));
}

const scenarioResults = summarise(runs);
const report: BenchReport = {
  machine: machine(),
  kafkaVersion: runtime.version,
  date: new Date(startedAt).toISOString(),
  scenarios: scenarioResults,
  targets: targets(scenarioResults),
  run: {
    scale: options.scale,
    repetitions: options.repetitions,
    steadyRate: steadyRates['steady-50pct'] ?? null,
    steadyRates,
    loadAverageAtStart,
    durationSeconds: Math.round((Date.now() - startedAt) / 1000),
    notes,
  },
};

// Only a complete run replaces the committed figures; a smoke or partial run goes to .cache/.
const complete =
  options.scale >= 1 &&
  options.repetitions >= 3 &&
  options.scenarios.length === SCENARIO_NAMES.length &&
  options.allSystems;
const outDir =
  complete || process.env['BENCH_WRITE_RESULTS'] === '1' ? path.join(repoRoot, 'bench/results') : logDir;
await mkdir(outDir, { recursive: true });
const markdown = renderMarkdown(report);
await writeFile(path.join(outDir, 'latest.json'), `${JSON.stringify(report, null, 2)}\n`);
await writeFile(path.join(outDir, 'latest.md'), markdown);
console.log(`\n${markdown}`);
log(`results written to ${path.relative(repoRoot, outDir)}/latest.{json,md}`);
if (runs.some((r) => r.error !== undefined)) process.exitCode = 1;
