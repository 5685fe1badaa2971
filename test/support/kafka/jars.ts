import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readdir, rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { singleFlight, withFileLock } from './fetch-lock.ts';
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
 * add the backend that Kafka's own POMs leave out. Safe to call from several launchers at once, in
 * one process or several (fetch-lock.ts): one of them fetches, the others wait for it.
 */
export async function ensureKafkaRuntime(version: string = kafkaVersionFromEnv()): Promise<KafkaRuntime> {
  const home = path.join(cacheDir, 'kafka', version);
  const libDir = path.join(home, 'libs');
  if (!isComplete(home)) await singleFlight(`kafka ${version}`, () => fetchKafka(version, home));
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

/** The `complete` marker is written last, after `libs` is in place: without it nothing there is trusted. */
function isComplete(home: string): boolean {
  return existsSync(path.join(home, 'complete')) && existsSync(path.join(home, 'libs'));
}

async function fetchKafka(version: string, home: string): Promise<void> {
  await requireCommand('mvn', ['--version'], 'Maven is needed to fetch Kafka jars from Maven Central');
  await mkdir(home, { recursive: true });
  // One lock for every version: they share the Maven repository, which Maven 3.8 does not lock.
  await withFileLock(path.join(cacheDir, 'm2.lock'), `fetching Kafka jars into ${cacheDir}`, async () => {
    if (isComplete(home)) return; // another process fetched it while we waited
    const libDir = path.join(home, 'libs');
    const marker = path.join(home, 'complete');
    // What an interrupted attempt left: a lock holder is the only writer, so these are dead.
    for (const entry of await readdir(home)) {
      if (entry.includes('.tmp-')) await rm(path.join(home, entry), { recursive: true, force: true });
    }
    // A private folder per attempt, renamed into place once Maven has copied every jar.
    const staging = path.join(home, `libs.tmp-${process.pid}-${randomBytes(4).toString('hex')}`);
    try {
      process.stderr.write(
        `launcher: fetching Apache Kafka ${version} jars from Maven Central into ${home} (once)\n`,
      );
      await resolve(version, staging);
      await rm(marker, { force: true });
      await rm(libDir, { recursive: true, force: true });
      await rename(staging, libDir);
      const pending = `${marker}.tmp-${process.pid}`;
      await writeFile(pending, `${new Date().toISOString()}\n`);
      await rename(pending, marker);
    } finally {
      await rm(staging, { recursive: true, force: true });
    }
  });
}

async function resolve(version: string, outputDirectory: string): Promise<void> {
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
    `-DoutputDirectory=${outputDirectory}`,
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
}

export async function requireCommand(command: string, args: string[], why: string): Promise<void> {
  try {
    await run(command, args);
  } catch (error) {
    throw new Error(`\`${command}\` was not found on PATH: ${why}`, { cause: error });
  }
}
