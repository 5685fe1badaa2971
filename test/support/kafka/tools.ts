import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { ensureKafkaRuntime, kafkaVersionFromEnv } from './jars.ts';

const run = promisify(execFile);

/**
 * Runs Kafka's own ProducerPerformance (the Java client) against a cluster: records written by
 * the reference client, in the codec asked for, to check what kafka-mirror reads.
 */
export async function javaProduce(
  bootstrapServers: readonly string[],
  topic: string,
  options: { records: number; recordSize: number; compression: 'none' | 'gzip' | 'snappy' | 'lz4' | 'zstd' },
): Promise<void> {
  const runtime = await ensureKafkaRuntime(kafkaVersionFromEnv());
  await run(
    'java',
    [
      '-Xmx256m',
      '-XX:+UseSerialGC',
      '-XX:TieredStopAtLevel=1',
      runtime.loggingFlag,
      '-cp',
      runtime.classpath,
      'org.apache.kafka.tools.ProducerPerformance',
      '--topic',
      topic,
      '--num-records',
      String(options.records),
      '--record-size',
      String(options.recordSize),
      '--throughput',
      '-1',
      '--producer-props',
      `bootstrap.servers=${bootstrapServers.join(',')}`,
      'acks=all',
      `compression.type=${options.compression}`,
      'linger.ms=5',
    ],
    { maxBuffer: 16 * 1024 * 1024 },
  );
}
