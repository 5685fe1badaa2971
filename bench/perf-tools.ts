// Kafka's own Java perf tools, run the way Kafka's bin/ scripts run them: ProducerPerformance
// preloads the source, writes the steady load and is the produce ceiling; ConsumerPerformance is
// the consume ceiling.
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import type { KafkaRuntime } from '../test/support/kafka/jars.ts';
import { BenchProcess } from './child-process.ts';

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

/** Starts a Kafka Java main class with the launcher's logging config (WARN, MirrorMaker INFO). */
export function startJava(
  runtime: KafkaRuntime,
  label: string,
  heap: readonly string[],
  mainClass: string,
  args: readonly string[],
  logDir: string,
): BenchProcess {
  const logFile = path.join(logDir, `${label}.log`);
  return BenchProcess.start(
    label,
    'java',
    [
      ...heap,
      ...KAFKA_JVM_PERFORMANCE_OPTS,
      runtime.loggingFlag,
      '-cp',
      runtime.classpath,
      mainClass,
      ...args,
    ],
    { logFile },
  );
}

/**
 * Producer settings of the preload and of ceiling-produce: large batches, a short linger and
 * acks=all (what the replicators write with), no compression (the records are random letters).
 */
export const THROUGHPUT_PRODUCER_PROPS = [
  'acks=all',
  'linger.ms=10',
  'batch.size=524288',
  'buffer.memory=67108864',
  'compression.type=none',
];

/**
 * Steady load: records leave the producer as they are made (linger.ms=0), so a record's CreateTime
 * is close to the moment it reaches the source and the latency measured is the replicator's.
 */
export const STEADY_PRODUCER_PROPS = ['acks=all', 'linger.ms=0', 'compression.type=none'];

export interface ProduceOptions {
  readonly records: number;
  readonly recordSize: number;
  /** Records per second; -1 = as fast as possible. */
  readonly throughput: number;
  readonly props: readonly string[];
}

/** Starts ProducerPerformance (random uppercase letters per record, null keys, the sticky partitioner). */
export function startProducerPerformance(
  runtime: KafkaRuntime,
  label: string,
  bootstrapServers: readonly string[],
  topic: string,
  options: ProduceOptions,
  logDir: string,
): BenchProcess {
  return startJava(
    runtime,
    label,
    ['-Xmx512M'],
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
    ['-Xmx512M'],
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
