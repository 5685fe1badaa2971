// One run = one system, one scenario, one repetition, on fresh target topics. Every process a run
// starts is stopped in a finally block (and by the launcher's reaper if this process dies).
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { Kafka } from 'kafkajs';
import type { KafkaCluster } from '../test/support/kafka/index.ts';
import type { KafkaRuntime } from '../test/support/kafka/jars.ts';
import type { LoggedProcess, Usage } from '../test/support/kafka/logged-process.ts';
import { produceRetries, startKafkaMirror, type FlowNames } from './kafka-mirror-process.ts';
import { LatencyProbe, type TimelineRow } from './latency-probe.ts';
import { startMirrorMaker } from './mirror-maker.ts';
import {
  consumePerformance,
  producePerformance,
  startProducerPerformance,
} from '../test/support/kafka/perf-tools.ts';
import type { RunResult } from './results.ts';
import {
  STEADY_PRODUCER_PROPS,
  THROUGHPUT_PRODUCER_PROPS,
  type Scenario,
  type SystemName,
} from './scenarios.ts';
import { POLL_INTERVAL_MS, TargetProgress } from './target-progress.ts';
import { createTopic } from './topics.ts';

export interface RunContext {
  readonly runtime: KafkaRuntime;
  readonly source: KafkaCluster;
  /** The target the replicator writes to (behind Toxiproxy in wan-100ms). */
  readonly target: KafkaCluster;
  readonly sourceKafka: Kafka;
  readonly targetKafka: Kafka;
  readonly scenario: Scenario;
  readonly repetition: number;
  /** Unique per run: names the cluster aliases, hence the remote topic and every MirrorMaker 2 internal topic. */
  readonly runId: number;
  readonly logDir: string;
  readonly timeoutMs: number;
}

/** Warm-up before a steady load: enough records, slowly enough, to land in every partition. */
const WARM_UP = { records: 600, perSecond: 300 };

function label(ctx: RunContext, system: SystemName): string {
  return `${ctx.scenario.name}-${system}-${ctx.repetition}`;
}

function flowNames(ctx: RunContext, topic: string): FlowNames {
  return { sourceAlias: `s${ctx.runId}`, targetAlias: `t${ctx.runId}`, topic };
}

const remoteTopic = (names: FlowNames) => `${names.sourceAlias}.${names.topic}`;

function startReplicator(ctx: RunContext, system: SystemName, names: FlowNames): Promise<LoggedProcess> {
  const name = label(ctx, system);
  if (system === 'kafka-mirror') {
    const delivery = ctx.scenario.exactlyOnce ? 'exactly-once' : 'at-least-once';
    return startKafkaMirror(ctx.source, ctx.target, names, ctx.logDir, name, delivery);
  }
  if (system === 'mm2-default' || system === 'mm2-tuned' || system === 'mm2-eos') {
    const flavour = system === 'mm2-default' ? 'default' : system === 'mm2-tuned' ? 'tuned' : 'eos';
    return startMirrorMaker(
      ctx.runtime,
      ctx.source,
      ctx.target,
      names,
      flavour,
      ctx.scenario.partitions,
      ctx.logDir,
      name,
    );
  }
  throw new Error(`${system} is not a replicator`);
}

const exitReason = (child: LoggedProcess) => () =>
  child.running
    ? undefined
    : `${child.label} exited (${String(child.child.exitCode ?? child.child.signalCode)})`;

function failed(ctx: RunContext, system: SystemName, records: number, error: unknown): RunResult {
  return {
    scenario: ctx.scenario.name,
    system,
    repetition: ctx.repetition,
    records,
    bytes: records * ctx.scenario.recordSize,
    seconds: null,
    wallSeconds: null,
    p50Ms: null,
    p99Ms: null,
    maxMs: null,
    maxRssMb: null,
    cpuSeconds: null,
    copyCpuSeconds: null,
    error: error instanceof Error ? error.message : String(error),
  };
}

function throughput(
  ctx: RunContext,
  system: SystemName,
  records: number,
  interval: { firstAt: number; doneAt: number; startedAt: number },
  usage: Usage | undefined,
): RunResult {
  return {
    scenario: ctx.scenario.name,
    system,
    repetition: ctx.repetition,
    records,
    bytes: records * ctx.scenario.recordSize,
    // Both ends are seen by the same 50 ms poll, so the interval is at least one poll.
    seconds: Math.max(interval.doneAt - interval.firstAt, POLL_INTERVAL_MS) / 1000,
    wallSeconds: (interval.doneAt - interval.startedAt) / 1000,
    p50Ms: null,
    p99Ms: null,
    maxMs: null,
    maxRssMb: usage?.maxRssMb ?? null,
    cpuSeconds: usage?.cpuSeconds ?? null,
    copyCpuSeconds: null,
  };
}

/** Catch-up of the preloaded `topic` (`records` records) by one system. */
export async function runCatchUp(
  ctx: RunContext,
  system: SystemName,
  topic: string,
  records: number,
): Promise<RunResult> {
  const names = flowNames(ctx, topic);
  try {
    if (system === 'ceiling-consume') {
      const startedAt = performance.now();
      const result = await consumePerformance(
        ctx.runtime,
        label(ctx, system),
        ctx.source.bootstrapServers,
        topic,
        records,
        ctx.logDir,
        ctx.timeoutMs,
      );
      return {
        ...throughput(
          ctx,
          system,
          records,
          { firstAt: 0, doneAt: result.fetchSeconds * 1000, startedAt: 0 },
          result.maxRssMb === null || result.cpuSeconds === null
            ? undefined
            : { maxRssMb: result.maxRssMb, cpuSeconds: result.cpuSeconds },
        ),
        wallSeconds: (performance.now() - startedAt) / 1000,
      };
    }
    if (system === 'ceiling-produce') {
      await createTopic(ctx.targetKafka, remoteTopic(names), { partitions: ctx.scenario.partitions });
    }
    let writer: LoggedProcess | undefined;
    let atFirstRecord: Usage | undefined;
    const progress = await TargetProgress.start(ctx.target.bootstrapServers, remoteTopic(names), records, {
      onFirstRecord: () => (atFirstRecord = writer?.sample()),
      // Across the 100 ms link a poll takes about 200 ms: four staggered pollers keep 50 ms.
      pollers: ctx.scenario.oneWayLatencyMs > 0 ? 4 : 1,
      transactional: ctx.scenario.exactlyOnce,
    });
    try {
      writer =
        system === 'ceiling-produce'
          ? startProducerPerformance(
              ctx.runtime,
              label(ctx, system),
              ctx.target.bootstrapServers,
              remoteTopic(names),
              {
                records,
                recordSize: ctx.scenario.recordSize,
                throughput: -1,
                props: THROUGHPUT_PRODUCER_PROPS,
              },
              ctx.logDir,
            )
          : await startReplicator(ctx, system, names);
      const running = writer;
      const done = await progress.done(
        ctx.timeoutMs,
        system === 'ceiling-produce' ? () => undefined : exitReason(running),
      );
      // Proof that the run wrote transactions: commit markers take offsets beside the records.
      if (ctx.scenario.exactlyOnce && done.markers === 0)
        throw new Error(`${system} wrote no transaction markers: it did not write transactionally`);
      // Read before stopping: shutdown work is not part of the run.
      const usage = writer.sample();
      const retried = system === 'kafka-mirror' ? await produceRetries(writer) : undefined;
      if (system === 'ceiling-produce') await writer.finish(ctx.timeoutMs);
      const result = throughput(
        ctx,
        system,
        records,
        {
          firstAt: done.firstAt ?? writer.startedAt,
          doneAt: done.doneAt ?? NaN,
          startedAt: writer.startedAt,
        },
        usage,
      );
      return { ...result, copyCpuSeconds: cpuBetween(atFirstRecord, usage), ...resends(retried) };
    } catch (error) {
      const tail = writer === undefined ? '' : `\n${await writer.tail(15)}`;
      throw new Error(`${error instanceof Error ? error.message : String(error)}${tail}`, { cause: error });
    } finally {
      await progress.stop();
      await writer?.stop(10_000);
    }
  } catch (error) {
    return failed(ctx, system, records, error);
  }
}

/** CPU seconds a process spent between two samples of it. */
const cpuBetween = (from: Usage | undefined, to: Usage | undefined): number | null =>
  from === undefined || to === undefined ? null : to.cpuSeconds - from.cpuSeconds;

/** kafka-mirror's resends (produce requests sent again), in total and by reason. */
const resends = (retried: Record<string, number> | undefined) =>
  retried === undefined
    ? {}
    : { resends: Object.values(retried).reduce((a, b) => a + b, 0), resendReasons: retried };

async function writeTimeline(file: string, rows: readonly TimelineRow[]): Promise<void> {
  const lines = rows.map((r) =>
    [r.second, r.records, r.p50Ms, r.p99Ms, r.maxMs, r.cpuBusyPct ?? '–'].join('\t'),
  );
  await writeFile(file, ['second\trecords\tp50Ms\tp99Ms\tmaxMs\tcpuBusyPct', ...lines, ''].join('\n'));
}

/**
 * Steady load on a fresh source topic: start the system, warm it up (records in every partition
 * replicated and consumed), then produce `rate` records/s for the scenario's duration and measure
 * each record's CreateTime-to-consumed latency on the target. ceiling-produce writes the same
 * load straight into the target: the floor of produce-to-consume latency without a replicator.
 */
export async function runSteady(ctx: RunContext, system: SystemName, rate: number): Promise<RunResult> {
  const seconds = ctx.scenario.steadySeconds ?? 60;
  const records = Math.round(rate * seconds);
  const topic = `bench-steady-${ctx.runId}`;
  const names = flowNames(ctx, topic);
  const remote = remoteTopic(names);
  const direct = system === 'ceiling-produce';
  // Where the producer writes: the source (replicators) or the target itself (ceiling).
  const [writeTo, writeKafka, writeTopic] = direct
    ? [ctx.target, ctx.targetKafka, remote]
    : [ctx.source, ctx.sourceKafka, topic];
  let replicator: LoggedProcess | undefined;
  let load: LoggedProcess | undefined;
  let probe: LatencyProbe | undefined;
  try {
    await createTopic(writeKafka, writeTopic, { partitions: ctx.scenario.partitions });
    if (!direct) replicator = await startReplicator(ctx, system, names);
    const warmUp = await TargetProgress.start(ctx.target.bootstrapServers, remote, WARM_UP.records);
    try {
      await producePerformance(
        ctx.runtime,
        `${label(ctx, system)}-warm-up`,
        writeTo.bootstrapServers,
        writeTopic,
        {
          records: WARM_UP.records,
          recordSize: ctx.scenario.recordSize,
          throughput: WARM_UP.perSecond,
          props: STEADY_PRODUCER_PROPS,
        },
        ctx.logDir,
        ctx.timeoutMs,
      );
      await warmUp.done(ctx.timeoutMs, replicator === undefined ? undefined : exitReason(replicator));
    } finally {
      await warmUp.stop();
    }
    probe = await LatencyProbe.start(ctx.target.bootstrapServers, remote);
    await probe.waitForSeen(WARM_UP.records, 60_000);
    // Every steady record is created after this instant (the producer JVM has not started yet).
    probe.measureFrom(Date.now());
    // The replicator's CPU from here to the last record is its cost of the steady copy.
    const atLoad = replicator?.sample();
    load = startProducerPerformance(
      ctx.runtime,
      `${label(ctx, system)}-load`,
      writeTo.bootstrapServers,
      writeTopic,
      { records, recordSize: ctx.scenario.recordSize, throughput: rate, props: STEADY_PRODUCER_PROPS },
      ctx.logDir,
    );
    await probe.waitForMeasured(records, seconds * 1000 + ctx.timeoutMs);
    const usage = (replicator ?? load).sample();
    const retried =
      system === 'kafka-mirror' && replicator !== undefined ? await produceRetries(replicator) : undefined;
    await load.finish(ctx.timeoutMs);
    const latency = probe.summary();
    await writeTimeline(path.join(ctx.logDir, `${label(ctx, system)}-latency.tsv`), probe.timeline());
    return {
      scenario: ctx.scenario.name,
      system,
      repetition: ctx.repetition,
      records,
      bytes: records * ctx.scenario.recordSize,
      seconds: latency.seconds,
      wallSeconds: replicator === undefined ? null : (performance.now() - replicator.startedAt) / 1000,
      p50Ms: latency.p50Ms,
      p99Ms: latency.p99Ms,
      maxMs: latency.maxMs,
      machineBusyPct: latency.machineBusyPct,
      maxRssMb: usage?.maxRssMb ?? null,
      cpuSeconds: usage?.cpuSeconds ?? null,
      // ceiling-produce: the load producer, whose whole life is the load: no copy to single out.
      copyCpuSeconds: cpuBetween(atLoad, usage),
      ...resends(retried),
    };
  } catch (error) {
    const tails = await Promise.all([replicator, load].map((p) => p?.tail(15) ?? ''));
    return failed(ctx, system, records, new Error(`${String(error)}\n${tails.join('\n')}`.trim()));
  } finally {
    await probe?.stop();
    await load?.stop(2000);
    await replicator?.stop(10_000);
  }
}
