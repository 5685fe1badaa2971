// `npm run demo`: two real local Kafka clusters, `us` and `asia`, a flow us -> asia run by the
// kafka-mirror daemon, and a sample producer writing orders to `us` at DEMO_RATE records/s.
// Prints progress every 2 s until Ctrl-C (or for DEMO_SECONDS), then stops in order: the producer,
// the daemon (SIGTERM: it drains and commits), the clusters; and prints the final counts. A second
// Ctrl-C stops everything at once and still removes the clusters.
//
// Exit code: 0 when records were replicated and the daemon stopped cleanly; 1 when nothing was
// replicated or the daemon failed; 130 after a second Ctrl-C or a Ctrl-C before the daemon ran;
// 2 for a bad DEMO_* setting. CI runs `DEMO_SECONDS=20 npm run demo` and relies on this.
//
// Signals: in a terminal, Ctrl-C goes to every process of the foreground group, and `npm run`
// forwards it to its child as well, so one Ctrl-C reaches this process twice within a moment
// (hence DUPLICATE_SIGNAL_MS). The daemon and the brokers run in process groups of their own
// (detached), so only this process decides when each of them stops: a Ctrl-C cannot reach the
// daemon twice (its second signal skips the drain) or end it while nobody waits for it. All of
// them are registered with the launcher's reaper, so they die with this process if it is killed.
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import net from 'node:net';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { abortAllClusters, startCluster, type KafkaCluster } from './kafka/index.ts';
import { cacheDir, repoRoot } from './kafka/paths.ts';
import { freePorts } from './kafka/ports.ts';
import { exited, track } from './kafka/processes.ts';
import { client, createTopic } from './kafka-client.ts';
import { endOffsetTotal } from './replication-checks.ts';
import { productionEnv, productionNodeFlags } from './daemon.ts';

const say = (line: string) => process.stdout.write(`${line}\n`);
/** A path as the user would type it: relative inside the repository, absolute elsewhere. */
const shown = (file: string) => (file.startsWith(repoRoot + path.sep) ? path.relative(repoRoot, file) : file);

function positive(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isFinite(value) || value <= 0) {
    process.stderr.write(`demo: ${name} must be a positive number, got ${JSON.stringify(raw)}\n`);
    process.exit(2);
  }
  return value;
}

/** Records per second from the sample producer. */
const RATE = Math.round(positive('DEMO_RATE', 5000));
/** Seconds of producing before the demo stops by itself, counted from when the daemon starts. */
const SECONDS = positive('DEMO_SECONDS', 600);
/** The daemon's drain budget, written into its config; the demo waits that plus closing (5 s) plus a margin. */
const SHUTDOWN_MS = 30_000;
const DAEMON_EXIT_GRACE_MS = SHUTDOWN_MS + 5000 + 3000;
/** After the producer stops, how long the daemon may take to copy what it wrote last. */
const CATCH_UP_MS = 5000;
/** A second signal within this long of the first is the same Ctrl-C (terminal and npm both send it). */
const DUPLICATE_SIGNAL_MS = 500;
const dir = path.join(cacheDir, 'demo');
const logFile = path.join(dir, 'daemon.log');

const stopping = new AbortController();
let firstSignalAt = 0;
let aborting = false;
const clusters: KafkaCluster[] = [];
let daemon: ChildProcess | undefined;
let produced = 0;
let replicated = 0;

function requestStop(why: string): void {
  if (stopping.signal.aborted) return;
  const what =
    daemon === undefined
      ? 'the clusters are removed as soon as they are up'
      : daemon.exitCode !== null || daemon.signalCode !== null
        ? 'the clusters are removed'
        : 'the producer first, then the daemon drains and commits, then the clusters are removed';
  say(`\n${why}: stopping; ${what} (Ctrl-C again to stop at once) ...`);
  stopping.abort();
}

function onSignal(signal: NodeJS.Signals): void {
  if (!stopping.signal.aborted) {
    firstSignalAt = Date.now();
    requestStop(signal === 'SIGINT' ? 'Ctrl-C' : signal);
  } else if (Date.now() - firstSignalAt >= DUPLICATE_SIGNAL_MS) {
    void abortNow();
  }
}
process.on('SIGINT', onSignal).on('SIGTERM', onSignal);
// The terminal went away: nobody is left to wait for a drain.
process.on('SIGHUP', () => void abortNow());

/** Second Ctrl-C: SIGKILL the daemon and every broker, remove the clusters, exit. */
async function abortNow(): Promise<void> {
  if (aborting) return;
  aborting = true;
  say('\nstopping at once: the daemon and the brokers are killed and the clusters removed');
  await abortAllClusters();
  await Promise.allSettled(clusters.map((cluster) => cluster.stop()));
  say(
    `final: produced ${produced} on us, replicated ${replicated} to asia when last counted. Clusters removed.`,
  );
  process.exit(130);
}

/** Waits `ms`, or less if the demo is stopping. */
function pause(ms: number): Promise<void> {
  return sleep(ms, undefined, { signal: stopping.signal }).catch(() => {});
}

function within<T>(promise: Promise<T>, ms: number): Promise<T | undefined> {
  return Promise.race([promise, sleep(ms, undefined)]);
}

/** 9464 (the daemon's default) unless taken; DEMO_ADMIN_PORT insists on one. */
async function adminPort(): Promise<number> {
  const wanted = process.env['DEMO_ADMIN_PORT'];
  const port = wanted === undefined || wanted === '' ? 9464 : positive('DEMO_ADMIN_PORT', 9464);
  const free = await new Promise<boolean>((resolve) => {
    const probe = net.createServer().once('error', () => resolve(false));
    probe.listen(port, '127.0.0.1', () => probe.close(() => resolve(true)));
  });
  if (free) return port;
  if (wanted !== undefined && wanted !== '') {
    process.stderr.write(`demo: DEMO_ADMIN_PORT ${port} is in use on 127.0.0.1\n`);
    process.exit(2);
  }
  const [other] = await freePorts(1);
  return other ?? 0;
}

async function main(): Promise<number> {
  const port = await adminPort();
  say('kafka-mirror demo: starting two local Apache Kafka clusters, "us" and "asia" ...');
  const started = await Promise.allSettled([startCluster({ name: 'us' }), startCluster({ name: 'asia' })]);
  for (const result of started) if (result.status === 'fulfilled') clusters.push(result.value);
  const failed = started.find((result) => result.status === 'rejected');
  if (stopping.signal.aborted) return finish({ code: 130, note: 'stopped before the daemon started' });
  if (failed !== undefined) {
    say(
      `could not start the clusters: ${String(failed.reason instanceof Error ? failed.reason.message : failed.reason)}`,
    );
    return finish({ code: 1 });
  }
  const [us, asia] = clusters as [KafkaCluster, KafkaCluster];

  await mkdir(dir, { recursive: true });
  const configFile = path.join(dir, 'config.yaml');
  const config = `# written by npm run demo
clusters:
  us:
    bootstrapServers: [${us.bootstrapServers.join(', ')}]
  asia:
    bootstrapServers: [${asia.bootstrapServers.join(', ')}]
flows:
  - source: us
    target: asia
    topics: { include: ['orders.*'] }
    naming: identity
admin: { host: 127.0.0.1, port: ${port} }
shutdown: { timeoutMs: ${SHUTDOWN_MS} }
log: { level: info }
`;
  await writeFile(configFile, config);
  say(`clusters up: us ${us.bootstrapServers.join(',')}  asia ${asia.bootstrapServers.join(',')}`);
  say(`config (${shown(configFile)}):\n${config}`);

  const usClient = client(us.bootstrapServers);
  const asiaClient = client(asia.bootstrapServers);
  await createTopic(usClient, 'orders', { partitions: 6 });
  if (stopping.signal.aborted) return finish({ code: 130, note: 'stopped before the daemon started' });

  const child = spawn(
    process.execPath,
    [...productionNodeFlags, path.join(repoRoot, 'src/cli.ts'), 'start', '--config', configFile],
    {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, ...productionEnv, NODE_NO_WARNINGS: '1' },
      detached: true,
    },
  );
  daemon = child;
  track(child);
  const log = createWriteStream(logFile);
  child.stdout?.pipe(log);
  child.stderr?.pipe(log);
  const daemonExit = exited(child);
  void daemonExit.then((code) => requestStop(`the daemon exited by itself (${String(code)})`));
  say(`daemon started (pid ${child.pid}); its JSON log: ${shown(logFile)}`);
  say(
    `while it runs: curl http://127.0.0.1:${port}/metrics | grep kafka_mirror_, or /status, /readyz (docs/metrics.md)`,
  );
  say(`producing ${RATE} records/s (DEMO_RATE) for up to ${SECONDS} s (DEMO_SECONDS); Ctrl-C stops`);

  const timer = setTimeout(() => requestStop(`${SECONDS} s (DEMO_SECONDS) are up`), SECONDS * 1000);
  const producer = usClient.producer({ allowAutoTopicCreation: false });
  await producer.connect();
  const producingSince = Date.now();
  let producerError: unknown;
  const producing = (async () => {
    while (!stopping.signal.aborted) {
      const due = Math.floor(((Date.now() - producingSince) / 1000) * RATE) - produced;
      if (due > 0) {
        const messages = Array.from({ length: Math.min(due, 5000) }, (_, i) => {
          const n = produced + i;
          return {
            key: `customer-${n % 997}`,
            value: JSON.stringify({ order: n, amount: (n % 500) + 0.99, at: Date.now() }),
          };
        });
        await producer.send({ topic: 'orders', messages });
        produced += messages.length;
      }
      await pause(50);
    }
  })().catch((error: unknown) => {
    producerError = error;
    requestStop('the sample producer failed');
  });

  const countReplicated = async () => {
    replicated =
      (await within(endOffsetTotal(asiaClient, 'orders'), 5000).catch(() => undefined)) ?? replicated;
    return replicated;
  };
  let lastReplicated = 0;
  let lastAt = Date.now();
  say('   time   produced (us)   replicated (asia)   rate/s     lag');
  while (!stopping.signal.aborted) {
    await pause(2000);
    if (stopping.signal.aborted) break;
    await countReplicated();
    const now = Date.now();
    const rate = ((replicated - lastReplicated) * 1000) / (now - lastAt);
    lastReplicated = replicated;
    lastAt = now;
    const elapsed = `${Math.round((now - producingSince) / 1000)}s`.padStart(7);
    say(
      `${elapsed}   ${String(produced).padStart(13)}   ${String(replicated).padStart(17)}   ${rate.toFixed(0).padStart(6)}   ${String(Math.max(0, produced - replicated)).padStart(5)}`,
    );
  }
  clearTimeout(timer);
  await within(producing, 10_000);
  await within(producer.disconnect(), 5000).catch(() => {});
  if (producerError !== undefined) say(`sample producer: ${String(producerError)}`);

  // The producer has stopped: let the daemon copy what it wrote last (while it makes progress, at
  // most CATCH_UP_MS), then drain it.
  const catchUpUntil = Date.now() + CATCH_UP_MS;
  for (let before = -1; child.exitCode === null && Date.now() < catchUpUntil;) {
    const now = await countReplicated();
    if (now >= produced || now === before) break;
    before = now;
    await sleep(1000);
  }
  const alreadyExited = child.exitCode !== null || child.signalCode !== null;
  const drainStarted = Date.now();
  if (!alreadyExited) child.kill('SIGTERM');
  let code = await within(daemonExit, DAEMON_EXIT_GRACE_MS);
  const killed = code === undefined;
  if (killed) {
    child.kill('SIGKILL');
    code = await daemonExit;
  }
  const drained = alreadyExited
    ? `the daemon had exited by itself with ${String(code)}`
    : killed
      ? `the daemon did not exit within ${DAEMON_EXIT_GRACE_MS / 1000} s of SIGTERM and was killed`
      : `the daemon drained and exited with ${String(code)} in ${((Date.now() - drainStarted) / 1000).toFixed(1)} s`;
  await countReplicated();
  const ok = code === 0 && replicated > 0 && !alreadyExited;
  if (!ok) say(`daemon log (${shown(logFile)}) ends with:\n${await tail(logFile, 15)}`);
  return finish({
    code: ok ? 0 : 1,
    note: `${drained}; produced ${produced} on us, replicated ${replicated} to asia${
      replicated === 0
        ? ': nothing was replicated'
        : replicated < produced && !alreadyExited
          ? ` (${produced - replicated} not replicated when the daemon stopped)`
          : ''
    }`,
  });
}

async function tail(file: string, lines: number): Promise<string> {
  const text = await readFile(file, 'utf8').catch(() => '');
  return text.trimEnd().split('\n').slice(-lines).join('\n');
}

async function finish({ code, note }: { code: number; note?: string }): Promise<number> {
  if (note !== undefined) say(note);
  await Promise.allSettled(clusters.map((cluster) => cluster.stop()));
  say(clusters.length > 0 ? 'clusters stopped and removed. Done.' : 'Done.');
  return code;
}

let exitCode: number;
try {
  exitCode = await main();
} catch (error) {
  say(`demo failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
  daemon?.kill('SIGKILL');
  exitCode = await finish({ code: 1 });
}
// Wait if a second Ctrl-C is already removing everything; it exits the process itself.
if (!aborting) process.exit(exitCode);
