// The secret scan (DESIGN.md invariant 7, issue 25): secrets loaded through every source the config
// offers (inline, file, environment, TLS private key, control token) are looked for in every output
// of a run: the daemon's log at trace level (kafkajs's own debug lines included), /metrics,
// /status, /readyz, the control endpoint's answers, and the output of every command of the CLI,
// on their normal and their error paths (credentials that a PLAINTEXT broker cannot accept, a
// wrong token, a config the loader refuses). None may appear.
import assert from 'node:assert/strict';
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { test, type TestContext } from 'node:test';
import { configFile, runCli, startDaemon, type DaemonProcess } from '../support/daemon.ts';
import { useClusterPair } from '../support/cluster-pair.ts';
import { createTopic, numbered, produceAll } from '../support/kafka-client.ts';
import { get, scrape, total } from '../support/prometheus.ts';
import { eventually } from '../support/settled.ts';

const CREDENTIALED = ['inline', 'file', 'env', 'mtls'] as const;

interface Secrets {
  readonly inline: string;
  readonly file: string;
  readonly env: string;
  readonly key: string;
  readonly control: string;
}

/** Fresh secrets, their files under `dir`, the environment variable set for this process and its children. */
async function writeSecrets(t: TestContext, dir: string): Promise<Secrets> {
  const secrets = {
    inline: `inline-${randomUUID()}`,
    file: `file-${randomUUID()}`,
    env: `env-${randomUUID()}`,
    key: `KEY${randomBytes(24).toString('base64')}`,
    control: `control-${randomUUID()}`,
  };
  await writeFile(path.join(dir, 'password'), `${secrets.file}\n`);
  await writeFile(path.join(dir, 'control-token'), `${secrets.control}\n`);
  await writeFile(path.join(dir, 'wrong-token'), `${secrets.control}x\n`);
  await writeFile(
    path.join(dir, 'client.pem'),
    `-----BEGIN CERTIFICATE-----\nMIIB${randomUUID()}\n-----END CERTIFICATE-----\n`,
  );
  await writeFile(
    path.join(dir, 'client.key'),
    `-----BEGIN PRIVATE KEY-----\n${secrets.key}\n-----END PRIVATE KEY-----\n`,
  );
  process.env['KAFKA_MIRROR_TEST_SECRET'] = secrets.env;
  t.after(() => delete process.env['KAFKA_MIRROR_TEST_SECRET']);
  return secrets;
}

/**
 * One plain flow src -> dst, and one flow to each credentialed alias of the target. The brokers
 * speak PLAINTEXT: every credentialed connection fails, so the secrets meet the error paths
 * (failed handshakes, retries, start errors in /status) as well as the normal ones.
 */
function scanConfig(
  pair: { source: string[]; target: string[] },
  dir: string,
  topic: string,
  secrets: Secrets,
) {
  const brokers = pair.target;
  return {
    clusters: {
      src: { bootstrapServers: pair.source },
      dst: { bootstrapServers: brokers },
      inline: {
        bootstrapServers: brokers,
        sasl: { mechanism: 'plain', username: 'mirror', password: secrets.inline },
      },
      file: {
        bootstrapServers: brokers,
        sasl: { mechanism: 'scram-sha-512', username: 'mirror', passwordFile: path.join(dir, 'password') },
      },
      env: {
        bootstrapServers: brokers,
        sasl: { mechanism: 'scram-sha-256', username: 'mirror', passwordEnv: 'KAFKA_MIRROR_TEST_SECRET' },
      },
      mtls: {
        bootstrapServers: brokers,
        tls: { cert: path.join(dir, 'client.pem'), key: path.join(dir, 'client.key') },
      },
    },
    flows: ['dst', ...CREDENTIALED].map((to) => ({
      source: 'src',
      target: to,
      topics: { include: [topic] },
      refreshIntervalMs: 2000,
    })),
    metrics: { lagIntervalMs: 1000 },
    log: { level: 'trace' },
    admin: { control: { enabled: true, tokens: [{ name: 'ops', file: path.join(dir, 'control-token') }] } },
  };
}

/** The control endpoint answered directly, with the right token and a wrong one. */
async function controlAnswers(base: string, secrets: Secrets): Promise<string> {
  const control = async (token: string) => {
    const response = await fetch(`${base}/control/log-level`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}` },
      body: JSON.stringify({ level: 'trace' }),
    });
    return `${response.status} ${await response.text()}`;
  };
  const answers = [await control(secrets.control), await control(`${secrets.control}x`)];
  assert.match(answers[0] ?? '', /^200 /);
  assert.match(answers[1] ?? '', /^401 /);
  return answers.join('\n');
}

/**
 * Every command of the CLI, on the daemon's config and its admin server: the ones that reach the
 * brokers through each credentialed cluster (they fail there), the control verbs with the right
 * and a wrong token, and a config the loader refuses with a secret beside the mistake. Each
 * output is returned under a name saying which command printed it.
 */
async function cliOutputs(
  t: TestContext,
  daemon: DaemonProcess,
  base: string,
  context: { dir: string; topic: string; config: ReturnType<typeof scanConfig> },
): Promise<Map<string, string>> {
  const { dir, topic, config } = context;
  const file = daemon.configFile;
  const token = ['--token-file', path.join(dir, 'control-token')];
  const admin = ['--admin', base, ...token];
  const refused = await configFile(t, {
    ...config,
    clusters: {
      ...config.clusters,
      inline: { ...config.clusters.inline, sasl: { ...config.clusters.inline.sasl, passwordEnv: 'NOPE' } },
    },
  });
  const runs: Array<[string, string[]]> = [
    ['version', ['version']],
    ['help', ['--help']],
    ['validate', ['validate', '--config', file]],
    ['validate (refused config)', ['validate', '--config', refused]],
    ['plan', ['plan', '--config', file]],
    ['status', ['status', '--url', base]],
    ['verify', ['verify', '--config', file, '--flow', 'src->dst']],
    [
      'offsets translate',
      ['offsets', 'translate', '--config', file, '--flow', 'src->dst', '--position', `${topic}:0:10`],
    ],
    ['pause', ['pause', '--flow', 'src->dst', ...admin]],
    ['resume', ['resume', '--flow', 'src->dst', ...admin]],
    ['resume-partition', ['resume-partition', '--flow', 'src->dst', ...admin]],
    ['log-level', ['log-level', 'trace', ...admin]],
    ['refresh', ['refresh', ...admin]],
    ['reload', ['reload', ...admin]],
    [
      'pause (wrong token)',
      ['pause', '--flow', 'src->dst', '--admin', base, '--token-file', path.join(dir, 'wrong-token')],
    ],
    ...CREDENTIALED.flatMap((to): Array<[string, string[]]> => [
      [`verify ${to}`, ['verify', '--config', file, '--flow', `src->${to}`]],
      [
        `offsets translate ${to}`,
        ['offsets', 'translate', '--config', file, '--flow', `src->${to}`, '--group', 'g'],
      ],
      [`drill ${to}`, ['drill', '--config', file, '--flow', `src->${to}`]],
      [`migrate-status ${to}`, ['migrate-status', '--config', file, '--flow', `src->${to}`]],
    ]),
  ];
  const outputs = new Map<string, string>();
  // Four at a time: the failing ones wait out their connection retries.
  for (let i = 0; i < runs.length; i += 4) {
    const batch = runs.slice(i, i + 4);
    const results = await Promise.all(batch.map(([, args]) => runCli(args, { timeoutMs: 120_000 })));
    for (const [j, result] of results.entries()) {
      const [name, args] = batch[j] as [string, string[]];
      // A command that fails must still end (a client left connected once kept verify alive).
      assert.notEqual(result.code, null, `kafka-mirror ${args.join(' ')} ended within 120 s`);
      outputs.set(`kafka-mirror ${name} (exit ${String(result.code)})`, result.stdout + result.stderr);
      if (name === 'validate (refused config)')
        assert.equal(result.code, 2, `${args.join(' ')} refuses the config`);
    }
  }
  return outputs;
}

test(
  'no output of a run shows a secret from the config: logs at trace, endpoints, every command',
  { timeout: 400_000 },
  async (t) => {
    const { source, target, src } = await useClusterPair(t);
    const dir = await mkdtemp(path.join(os.tmpdir(), 'kafka-mirror-secrets-'));
    t.after(() => rm(dir, { recursive: true, force: true }));
    const secrets = await writeSecrets(t, dir);
    const topic = `secret-${randomUUID().slice(0, 6)}`;
    await createTopic(src, topic, { partitions: 2 });
    await produceAll(src, topic, numbered('s', 0, 500));
    const config = scanConfig(
      { source: [...source.bootstrapServers], target: [...target.bootstrapServers] },
      dir,
      topic,
      secrets,
    );
    const daemon = await startDaemon(t, config, {});
    const base = await daemon.adminUrl();
    await eventually('the plain flow replicated', async () =>
      total(await scrape(base), 'kafka_mirror_records_total', { flow: 'src->dst', topic }) === 500
        ? true
        : undefined,
    );
    for (const to of CREDENTIALED) {
      await daemon.waitForLog((l) => l['cluster'] === to && l['msg'] === 'cluster unreachable; retrying');
    }
    const outputs = new Map<string, string>([['/control/ answers', await controlAnswers(base, secrets)]]);
    for (const endpoint of ['/metrics', '/status', '/readyz'])
      outputs.set(endpoint, (await get(base, endpoint)).body);
    const status = JSON.parse(outputs.get('/status') ?? '') as {
      flows: Array<{ name: string; state: string; startError?: string }>;
    };
    for (const to of CREDENTIALED) {
      const entry = status.flows.find((f) => f.name === `src->${to}`);
      assert.equal(entry?.state, 'starting', `src->${to} cannot connect`);
      assert.ok((entry?.startError ?? '') !== '', `/status says why src->${to} is not running`);
    }
    for (const [name, output] of await cliOutputs(t, daemon, base, { dir, topic, config }))
      outputs.set(name, output);
    await daemon.stop();
    outputs.set('the daemon log (stdout and stderr, trace level, through shutdown)', daemon.output());
    // The scan is only worth something if the outputs are there: a trace log with kafkajs's own
    // lines, and every command having printed something.
    assert.ok(
      daemon.logs.some((l) => l['component'] === 'kafkajs' && l['level'] === 20),
      "the log has kafkajs's debug lines (the most verbose the daemon writes)",
    );
    for (const [name, output] of outputs) assert.ok(output.trim() !== '', `${name} printed something`);
    for (const [what, secret] of Object.entries(secrets)) {
      for (const [name, output] of outputs)
        assert.ok(!output.includes(secret), `the ${what} secret appears in ${name}`);
    }
  },
);
