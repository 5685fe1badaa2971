// `npm run demo`: two real local Kafka clusters, `us` and `asia`, a flow us -> asia run by the
// kafka-mirror daemon, and a sample producer writing orders to `us`. Prints live progress until
// Ctrl-C (or DEMO_SECONDS), then drains the daemon and removes everything it started.
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { createWriteStream } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { startCluster } from './kafka/index.ts';
import { cacheDir, repoRoot } from './kafka/paths.ts';
import { client, createTopic } from './kafka-client.ts';
import { endOffsetTotal } from './replication-checks.ts';
import { productionEnv } from './daemon.ts';

const RATE = Number(process.env['DEMO_RATE'] ?? 5000); // records per second from the sample producer
const SECONDS = Number(process.env['DEMO_SECONDS'] ?? 600); // bounded: the producer stops after this
const ADMIN_PORT = Number(process.env['DEMO_ADMIN_PORT'] ?? 9464); // the daemon's /metrics, /status, /readyz
const say = (line: string) => process.stdout.write(`${line}\n`);

say('kafka-mirror demo: starting two local Apache Kafka clusters, "us" and "asia" ...');
const [us, asia] = await Promise.all([startCluster({ name: 'us' }), startCluster({ name: 'asia' })]);
const dir = path.join(cacheDir, 'demo');
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
admin: { host: 127.0.0.1, port: ${ADMIN_PORT} }
log: { level: info }
`;
await writeFile(configFile, config);
say(`clusters up: us ${us.bootstrapServers.join(',')}  asia ${asia.bootstrapServers.join(',')}`);
say(`config (${path.relative(repoRoot, configFile)}):\n${config}`);

const usClient = client(us.bootstrapServers);
const asiaClient = client(asia.bootstrapServers);
await createTopic(usClient, 'orders', { partitions: 6 });

const logFile = path.join(dir, 'daemon.log');
const daemon = spawn(process.execPath, [path.join(repoRoot, 'src/cli.ts'), 'start', '--config', configFile], {
  stdio: ['ignore', 'pipe', 'pipe'],
  env: { ...process.env, ...productionEnv, NODE_NO_WARNINGS: '1' },
});
const log = createWriteStream(logFile);
daemon.stdout.pipe(log);
daemon.stderr.pipe(log);
say(`daemon started (pid ${daemon.pid}); its JSON log: ${path.relative(repoRoot, logFile)}`);
say(
  `while it runs: curl http://127.0.0.1:${ADMIN_PORT}/metrics | grep kafka_mirror_, or /status, /readyz (docs/metrics.md)`,
);

let stopping = false;
const stop = () => {
  if (!stopping) say('\nstopping: producer first, then the daemon drains and commits ...');
  stopping = true;
};
process.on('SIGINT', stop).on('SIGTERM', stop);

const producer = usClient.producer({ allowAutoTopicCreation: false });
await producer.connect();
let produced = 0;
const started = Date.now();
const producing = (async () => {
  for (let tick = 0; !stopping && Date.now() - started < SECONDS * 1000; tick++) {
    const due = Math.floor(((Date.now() - started) / 1000) * RATE) - produced;
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
    await sleep(50);
  }
  await producer.disconnect();
})();

let lastReplicated = 0;
let lastAt = Date.now();
say('   time   produced (us)   replicated (asia)   rate/s     lag');
while (!stopping && Date.now() - started < SECONDS * 1000 && daemon.exitCode === null) {
  await sleep(2000);
  const replicated = await endOffsetTotal(asiaClient, 'orders').catch(() => 0);
  const now = Date.now();
  const rate = ((replicated - lastReplicated) * 1000) / (now - lastAt);
  lastReplicated = replicated;
  lastAt = now;
  const elapsed = `${Math.round((now - started) / 1000)}s`.padStart(7);
  say(
    `${elapsed}   ${String(produced).padStart(13)}   ${String(replicated).padStart(17)}   ${rate.toFixed(0).padStart(6)}   ${String(Math.max(0, produced - replicated)).padStart(5)}`,
  );
}
stop();
await producing;
daemon.kill('SIGTERM');
const [code] = (await once(daemon, 'exit')) as [number | null];
const replicated = await endOffsetTotal(asiaClient, 'orders').catch(() => 0);
say(
  `daemon exited with ${String(code)}; produced ${produced}, replicated ${replicated} (a backlog left on us is replicated by the next run)`,
);
await Promise.all([us.stop(), asia.stop()]);
say('clusters stopped. Done.');
