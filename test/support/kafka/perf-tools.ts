// Kafka's own Java tools, run from the launcher's jars the way Kafka's bin/ scripts run them. The
// one launcher of ProducerPerformance and ConsumerPerformance for tests and benchmarks: the
// benchmark preloads the source with ProducerPerformance, writes its steady load with it and takes
// it as the produce ceiling, ConsumerPerformance as the consume ceiling; tests write records with
// the reference client in every codec. `startJava` also runs MirrorMaker 2 for the benchmark.
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { ensureKafkaRuntime, kafkaVersionFromEnv, type KafkaRuntime } from './jars.ts';
import { LoggedProcess } from './logged-process.ts';
import type { JvmProfile } from './types.ts';

/** kafka-run-class.sh's KAFKA_JVM_PERFORMANCE_OPTS: the JVM every Kafka tool and MirrorMaker 2 gets by default. */
export const KAFKA_JVM_PERFORMANCE_OPTS = [
  '-server',
  '-XX:+UseG1GC',
  '-XX:MaxGCPauseMillis=20',
  '-XX:InitiatingHeapOccupancyPercent=35',
  '-XX:+ExplicitGCInvokesConcurrent',
  '-Djava.awt.headless=true',
  '-Djava.net.preferIPv4Stack=true',
];

/**
 * What a short-lived tool in a test runs with: serial GC and the C1 JIT only start fastest and
 * leave the two cores to the brokers and the daemon (as the launcher's brokers run in `test`).
 */
const TEST_JVM_OPTS = ['-XX:+UseSerialGC', '-XX:TieredStopAtLevel=1'];

/** The heap of the perf tools: kafka-producer-perf-test.sh's -Xmx512M, or a smaller one in tests. */
const PERF_TOOL_HEAP: Readonly<Record<JvmProfile, readonly string[]>> = {
  bench: ['-Xmx512M'],
  test: ['-Xmx256m'],
};

/** The arguments of `java` that run a Kafka main class from the launcher's jars with its logging config. */
export function javaArgs(
  runtime: KafkaRuntime,
  jvm: { readonly heap: readonly string[]; readonly profile: JvmProfile },
  mainClass: string,
  args: readonly string[],
): string[] {
  return [
    ...jvm.heap,
    ...(jvm.profile === 'bench' ? KAFKA_JVM_PERFORMANCE_OPTS : TEST_JVM_OPTS),
    runtime.loggingFlag,
    '-cp',
    runtime.classpath,
    mainClass,
    ...args,
  ];
}

/**
 * Starts a Kafka Java main class with the launcher's logging config (WARN, MirrorMaker INFO), its
 * output in `<logDir>/<label>.log`; Kafka's default JVM unless `profile` is `test`.
 */
export function startJava(
  runtime: KafkaRuntime,
  label: string,
  heap: readonly string[],
  mainClass: string,
  args: readonly string[],
  logDir: string,
  profile: JvmProfile = 'bench',
): LoggedProcess {
  const logFile = path.join(logDir, `${label}.log`);
  return LoggedProcess.start(label, 'java', javaArgs(runtime, { heap, profile }, mainClass, args), {
    logFile,
  });
}

export interface ProduceOptions {
  readonly records: number;
  readonly recordSize: number;
  /** Records per second; -1 = as fast as possible. */
  readonly throughput: number;
  readonly props: readonly string[];
  /** The JVM: Kafka's default (`bench`, the default) or the quick-starting one of tests. */
  readonly jvm?: JvmProfile;
}

/** Starts ProducerPerformance (random uppercase letters per record, null keys, the sticky partitioner). */
export function startProducerPerformance(
  runtime: KafkaRuntime,
  label: string,
  bootstrapServers: readonly string[],
  topic: string,
  options: ProduceOptions,
  logDir: string,
): LoggedProcess {
  const profile = options.jvm ?? 'bench';
  return startJava(
    runtime,
    label,
    PERF_TOOL_HEAP[profile],
    'org.apache.kafka.tools.ProducerPerformance',
    [
      '--topic',
      topic,
      '--num-records',
      String(options.records),
      '--record-size',
      String(options.recordSize),
      '--throughput',
      String(options.throughput),
      '--producer-props',
      `bootstrap.servers=${bootstrapServers.join(',')}`,
      ...options.props,
    ],
    logDir,
    profile,
  );
}

/** Runs ProducerPerformance to completion. */
export async function producePerformance(
  runtime: KafkaRuntime,
  label: string,
  bootstrapServers: readonly string[],
  topic: string,
  options: ProduceOptions,
  logDir: string,
  timeoutMs: number,
): Promise<void> {
  const tool = startProducerPerformance(runtime, label, bootstrapServers, topic, options, logDir);
  try {
    await tool.finish(timeoutMs);
  } finally {
    await tool.stop(1000);
  }
}

/**
 * ProducerPerformance in a test: records written by the reference client (the Java one), in the
 * codec asked for, to check what kafka-mirror reads. Its log goes to a temporary directory,
 * removed afterwards (a failure carries the log's tail).
 */
export async function javaProduce(
  bootstrapServers: readonly string[],
  topic: string,
  options: { records: number; recordSize: number; compression: 'none' | 'gzip' | 'snappy' | 'lz4' | 'zstd' },
  timeoutMs = 300_000,
): Promise<void> {
  const runtime = await ensureKafkaRuntime(kafkaVersionFromEnv());
  const logDir = await mkdtemp(path.join(os.tmpdir(), 'kafka-mirror-perf-'));
  try {
    await producePerformance(
      runtime,
      `produce-${topic}`,
      bootstrapServers,
      topic,
      {
        records: options.records,
        recordSize: options.recordSize,
        throughput: -1,
        props: ['acks=all', `compression.type=${options.compression}`, 'linger.ms=5'],
        jvm: 'test',
      },
      logDir,
      timeoutMs,
    );
  } finally {
    await rm(logDir, { recursive: true, force: true });
  }
}

export interface ConsumeResult {
  readonly records: number;
  /** ConsumerPerformance's fetch.time.ms: from partition assignment to the last record, group join excluded. */
  readonly fetchSeconds: number;
  readonly maxRssMb: number | null;
  readonly cpuSeconds: number | null;
}

/** ConsumerPerformance's summary: a header line of names and a line of values, both ", "-separated. */
export function parseConsumerPerformance(output: string): { records: number; fetchMs: number } {
  const lines = output.split('\n');
  const headerAt = lines.findIndex((l) => l.includes('fetch.time.ms'));
  const names = lines[headerAt]?.split(',').map((s) => s.trim());
  const values = lines[headerAt + 1]?.split(',').map((s) => s.trim());
  if (headerAt < 0 || names === undefined || values === undefined) {
    throw new Error(`no ConsumerPerformance summary in its output:\n${output.slice(-2000)}`);
  }
  const field = (name: string) => {
    const value = Number(values[names.indexOf(name)]);
    if (!Number.isFinite(value))
      throw new Error(`ConsumerPerformance: no ${name} in:\n${output.slice(-2000)}`);
    return value;
  };
  return { records: field('data.consumed.in.nMsg'), fetchMs: field('fetch.time.ms') };
}

/** Reads `records` records of `topic` with ConsumerPerformance (its defaults: 1 MiB per partition fetch). */
export async function consumePerformance(
  runtime: KafkaRuntime,
  label: string,
  bootstrapServers: readonly string[],
  topic: string,
  records: number,
  logDir: string,
  timeoutMs: number,
): Promise<ConsumeResult> {
  const tool = startJava(
    runtime,
    label,
    PERF_TOOL_HEAP.bench,
    'org.apache.kafka.tools.ConsumerPerformance',
    [
      '--bootstrap-server',
      bootstrapServers.join(','),
      '--topic',
      topic,
      // --messages exists on 3.9 and 4.x (4.2 adds --num-records and deprecates it).
      '--messages',
      String(records),
      '--group',
      `${label}-${Date.now()}`,
      '--timeout',
      '30000',
    ],
    logDir,
  );
  try {
    await tool.finish(timeoutMs);
    const usage = tool.sample();
    const parsed = parseConsumerPerformance(await readFile(tool.logFile, 'utf8'));
    if (parsed.records < records) {
      throw new Error(
        `ConsumerPerformance read ${parsed.records} of ${records} records\n${await tool.tail()}`,
      );
    }
    return {
      records: parsed.records,
      fetchSeconds: parsed.fetchMs / 1000,
      maxRssMb: usage?.maxRssMb ?? null,
      cpuSeconds: usage?.cpuSeconds ?? null,
    };
  } finally {
    await tool.stop(1000);
  }
}
