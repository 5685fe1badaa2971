import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, readdir, rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { cacheDir, supportDir } from './paths.ts';

const run = promisify(execFile);

/** Newest Apache Kafka release that resolves from Maven Central and that kafkajs talks to (see docs/development.md). */
export const DEFAULT_KAFKA_VERSION = '4.3.1';

/** The Kafka version the tests use: `KAFKA_MIRROR_KAFKA_VERSION` or the default. 3.9.x is selectable. */
export function kafkaVersionFromEnv(env: NodeJS.ProcessEnv = process.env): string {
  const version = env['KAFKA_MIRROR_KAFKA_VERSION'] ?? DEFAULT_KAFKA_VERSION;
  if (!/^\d+\.\d+\.\d+$/.test(version)) {
    throw new Error(
      `KAFKA_MIRROR_KAFKA_VERSION must look like 4.4.0 or 3.9.2, got ${JSON.stringify(version)}`,
    );
  }
  return version;
}

export function kafkaMajor(version: string): number {
  return Number(version.split('.')[0]);
}

export interface KafkaRuntime {
  readonly version: string;
  /** Directory with every jar the broker, the perf tools and MirrorMaker 2 need. */
  readonly libDir: string;
  /** `-cp` value: the jars in a fixed (sorted) order, so JVM runs are repeatable. */
  readonly classpath: string;
  /** JVM system property that points the logging backend at the launcher's config. */
  readonly loggingFlag: string;
}

/**
 * Resolves Kafka's jars through the pom in this folder into `.cache/kafka/<version>/libs`, once.
 * Later calls reuse the cache. Kafka 4.x logs with log4j2, 3.x with reload4j; the pom's profiles
 * add the backend that Kafka's own POMs leave out.
 */
export async function ensureKafkaRuntime(version: string = kafkaVersionFromEnv()): Promise<KafkaRuntime> {
  const home = path.join(cacheDir, 'kafka', version);
  const libDir = path.join(home, 'libs');
  const marker = path.join(home, 'complete');
  if (!existsSync(marker)) await download(version, home, libDir, marker);
  const jars = (await readdir(libDir)).filter((f) => f.endsWith('.jar')).sort();
  const log4j2 = kafkaMajor(version) >= 4;
  return {
    version,
    libDir,
    classpath: jars.map((jar) => path.join(libDir, jar)).join(path.delimiter),
    loggingFlag: log4j2
      ? `-Dlog4j2.configurationFile=${path.join(supportDir, 'log4j2.properties')}`
      : `-Dlog4j.configuration=file:${path.join(supportDir, 'log4j.properties')}`,
  };
}

async function download(version: string, home: string, libDir: string, marker: string): Promise<void> {
  await requireCommand('mvn', ['--version'], 'Maven is needed to fetch Kafka jars from Maven Central');
  await mkdir(home, { recursive: true });
  // Copy into a private directory and rename it into place, so a concurrent or interrupted run
  // never sees a half-filled lib directory.
  const staging = path.join(home, `libs.tmp-${process.pid}`);
  await rm(staging, { recursive: true, force: true });
  const args = [
    '-B',
    '-q',
    '-f',
    path.join(supportDir, 'pom.xml'),
    `-Dmaven.repo.local=${path.join(cacheDir, 'm2')}`,
    `-Dkafka.version=${version}`,
    `-P${kafkaMajor(version) >= 4 ? 'log4j2' : 'log4j1'}`,
    'org.apache.maven.plugins:maven-dependency-plugin:3.7.1:copy-dependencies',
    '-DincludeScope=runtime',
    `-DoutputDirectory=${staging}`,
  ];
  try {
    await run('mvn', args, { maxBuffer: 64 * 1024 * 1024 });
  } catch (error) {
    const output = error instanceof Error && 'stdout' in error ? String(error.stdout) : '';
    throw new Error(
      `could not resolve Apache Kafka ${version} from Maven Central (mvn ${args.join(' ')}):\n${output.split('\n').slice(-30).join('\n')}`,
      { cause: error },
    );
  }
  await rm(libDir, { recursive: true, force: true });
  await rename(staging, libDir);
  await writeFile(marker, `${new Date().toISOString()}\n`);
}

export async function requireCommand(command: string, args: string[], why: string): Promise<void> {
  try {
    await run(command, args);
  } catch (error) {
    throw new Error(`\`${command}\` was not found on PATH: ${why}`, { cause: error });
  }
}
