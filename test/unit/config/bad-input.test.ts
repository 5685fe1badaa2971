// Broken configs through the real command line (`kafka-mirror validate --config <file>`): each one
// exits 2 with a message that names the offending key (or the line, for a syntax error), and none
// prints the secret its file or its password file carries (DESIGN.md invariants 6 and 7).
// A row marked `todo` is a known bug, described there: it stays until the code is fixed.
import assert from 'node:assert/strict';
import { randomInt, randomUUID } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { stringify } from 'yaml';
import { ExitCode, main } from '../../../src/cli.ts';

type Cluster = Record<string, unknown>;
interface Doc {
  clusters: Record<string, Cluster>;
  flows: Array<Record<string, unknown>>;
  [key: string]: unknown;
}

interface Ctx {
  /** The row's secret: a password inline, in a password file or in a key file. */
  readonly secret: string;
  /** A secret made of digits only, for a password YAML reads as a number. */
  readonly digits: number;
  readonly dir: string;
  /** A variable name no environment sets. */
  readonly unsetVariable: string;
  /** Writes a file in the row's directory; returns its path. */
  file(name: string, content: string, mode?: number): string;
  /** A directory in the row's directory; returns its path. */
  directory(name: string): string;
}

interface Row {
  name: string;
  /** The config: a document (written as YAML, or JSON with `ext: 'json'`) or the file's text. */
  config: (ctx: Ctx) => unknown;
  ext?: 'yaml' | 'json';
  env?: (ctx: Ctx) => Record<string, string>;
  /** What stderr must say: the offending key path (or line and column). */
  stderr: RegExp;
  /** What stderr must not say. */
  absent?: RegExp;
  /** A known bug: what happens instead. */
  todo?: string;
  skip?: string | false;
}

/** Two clusters and a flow; asia authenticates with an inline password: the secret. */
function base(secret: string): Doc {
  return {
    clusters: {
      us: { bootstrapServers: ['kafka-us-1:9092', 'kafka-us-2:9092'] },
      asia: {
        bootstrapServers: ['kafka-asia-1:9092'],
        sasl: { mechanism: 'scram-sha-512', username: 'mirror', password: secret },
      },
    },
    flows: [{ source: 'us', target: 'asia', topics: { include: ['orders\\..*'] } }],
  };
}

/** The base with one change. */
const edit =
  (change: (doc: Doc, ctx: Ctx) => void) =>
  (ctx: Ctx): Doc => {
    const doc = base(ctx.secret);
    change(doc, ctx);
    return doc;
  };

const cluster = (doc: Doc, alias: string): Cluster => doc.clusters[alias] ?? assert.fail(alias);
const flow = (doc: Doc): Record<string, unknown> => doc.flows[0] ?? assert.fail('flow');

/** asia's password comes from elsewhere in the row: the secret moves to us, inline. */
function asiaSasl(doc: Doc, ctx: Ctx, sasl: unknown): void {
  cluster(doc, 'asia')['sasl'] = sasl;
  cluster(doc, 'us')['sasl'] = { mechanism: 'scram-sha-256', username: 'mirror', password: ctx.secret };
}

/** A YAML file whose asia password line is `line`, and `after` right below it. */
const yamlWithPassword = (ctx: Ctx, line: string, after = '') =>
  [
    'clusters:',
    '  us:',
    '    bootstrapServers: [kafka-us-1:9092]',
    '  asia:',
    '    bootstrapServers: [kafka-asia-1:9092]',
    '    sasl:',
    '      mechanism: scram-sha-512',
    '      username: mirror',
    `      ${line.replace('SECRET', ctx.secret)}`,
    ...(after === '' ? [] : [after.replace('SECRET', ctx.secret)]),
    'flows:',
    '  - { source: us, target: asia }',
    '',
  ].join('\n');

const rows: Row[] = [
  // --- the document ---
  {
    name: 'an empty document (only a comment)',
    config: (ctx) => `# kafka-mirror: asia password ${ctx.secret}\n`,
    stderr: /clusters: at least one cluster is required[^]*flows: at least one flow is required/,
  },
  {
    name: 'a list at the top level',
    config: (ctx) => [base(ctx.secret)],
    stderr: /the top level must be a mapping/,
  },
  {
    name: 'a string at the top level',
    config: (ctx) => `"${ctx.secret}"\n`,
    stderr: /the top level must be a mapping/,
  },
  {
    name: 'an unknown top-level key',
    config: edit((doc) => (doc['mirrorMaker'] = { enabled: true })),
    stderr: /^ {2}- mirrorMaker\.enabled: unknown key$/m,
  },
  {
    name: 'an unknown key under admin',
    config: edit((doc) => (doc['admin'] = { bind: '0.0.0.0' })),
    stderr: /admin\.bind: unknown key/,
  },
  {
    name: 'clusters is a list',
    config: edit((doc) => ((doc as Record<string, unknown>)['clusters'] = [doc.clusters])),
    stderr: /clusters: must be a mapping of alias to cluster/,
  },
  {
    name: 'flows is a mapping',
    config: edit((doc) => ((doc as Record<string, unknown>)['flows'] = { 'us->asia': flow(doc) })),
    stderr: /flows: must be a list of flows/,
  },
  {
    name: 'no flows',
    config: edit((doc) => (doc.flows = [])),
    stderr: /flows: at least one flow is required/,
  },
  {
    name: '`queue:` left empty (null)',
    config: edit((doc) => (doc['queue'] = null)),
    stderr: /queue: must be a mapping/,
  },
  {
    name: 'consumer is a string',
    config: edit((doc) => (doc['consumer'] = 'big')),
    stderr: /consumer: must be a mapping/,
  },

  // --- clusters ---
  {
    name: 'an unknown key in a cluster (typo of bootstrapServers)',
    config: edit((doc) => {
      const us = cluster(doc, 'us');
      us['bootstrap'] = us['bootstrapServers'];
      delete us['bootstrapServers'];
    }),
    stderr: /clusters\.us\.bootstrap: unknown key; did you mean bootstrapServers\?/,
  },
  {
    name: 'a cluster that is a string',
    config: edit((doc) => (doc.clusters['us'] = 'kafka-us-1:9092' as unknown as Cluster)),
    stderr: /clusters\.us: must be a mapping/,
  },
  {
    name: 'an alias with a space',
    config: edit((doc) => {
      doc.clusters['us east'] = cluster(doc, 'us');
      delete doc.clusters['us'];
      flow(doc)['source'] = 'us east';
    }),
    stderr: /clusters\.us east: an alias is letters, digits/,
  },
  {
    name: 'bootstrapServers is a string, not a list',
    config: edit((doc) => (cluster(doc, 'us')['bootstrapServers'] = 'kafka-us-1:9092')),
    stderr: /clusters\.us\.bootstrapServers: must be a list of non-empty strings/,
    absent: /"k" is not host:port/,
  },
  {
    name: 'a bootstrap server without a port',
    config: edit((doc) => (cluster(doc, 'us')['bootstrapServers'] = ['kafka-us-1'])),
    stderr: /clusters\.us\.bootstrapServers: "kafka-us-1" is not host:port/,
  },
  {
    name: 'a bootstrap server written as a URL',
    config: edit((doc) => (cluster(doc, 'us')['bootstrapServers'] = ['PLAINTEXT://kafka-us-1:9092'])),
    stderr: /clusters\.us\.bootstrapServers: "PLAINTEXT:\/\/kafka-us-1:9092" is not host:port/,
  },
  {
    name: 'a bootstrap server port above 65535',
    config: edit((doc) => (cluster(doc, 'us')['bootstrapServers'] = ['kafka-us-1:99999'])),
    stderr: /clusters\.us\.bootstrapServers: "kafka-us-1:99999"/,
  },
  {
    name: 'no bootstrap servers',
    config: edit((doc) => (cluster(doc, 'us')['bootstrapServers'] = [])),
    stderr: /clusters\.us\.bootstrapServers: at least one host:port is required/,
  },
  {
    name: 'clientId is a number',
    config: edit((doc) => (cluster(doc, 'us')['clientId'] = 42)),
    stderr: /clusters\.us\.clientId: must be of type String/,
  },
  {
    name: 'connectionTimeoutMs is zero',
    config: edit((doc) => (cluster(doc, 'us')['connectionTimeoutMs'] = 0)),
    stderr: /clusters\.us\.connectionTimeoutMs: must be a positive integer/,
  },

  // --- sasl ---
  {
    name: 'an unknown SASL mechanism',
    config: edit((doc, ctx) =>
      asiaSasl(doc, ctx, { mechanism: 'gssapi', username: 'mirror', password: ctx.secret }),
    ),
    stderr: /clusters\.asia\.sasl\.mechanism: must be one of the possible values/,
  },
  {
    name: 'the password under a misspelled key',
    config: edit((doc, ctx) =>
      asiaSasl(doc, ctx, { mechanism: 'scram-sha-512', username: 'mirror', pasword: ctx.secret }),
    ),
    stderr: /clusters\.asia\.sasl\.pasword: unknown key; did you mean password\?/,
  },
  {
    name: 'SASL without a username',
    config: edit((doc, ctx) => asiaSasl(doc, ctx, { mechanism: 'scram-sha-512', password: ctx.secret })),
    stderr: /clusters\.asia\.sasl\.username: required with mechanism scram-sha-512/,
  },
  {
    name: 'two password sources (inline and a file)',
    config: edit((doc, ctx) =>
      asiaSasl(doc, ctx, {
        mechanism: 'plain',
        username: 'mirror',
        password: ctx.secret,
        passwordFile: ctx.file('asia-password', `${ctx.secret}\n`),
      }),
    ),
    stderr: /clusters\.asia\.sasl: give the password in exactly one of password, passwordFile, passwordEnv/,
  },
  {
    name: 'credentials with the mechanism left at none',
    config: edit((doc, ctx) => asiaSasl(doc, ctx, { username: 'mirror', password: ctx.secret })),
    stderr: /clusters\.asia\.sasl\.mechanism: credentials are set but the mechanism is none/,
  },
  {
    name: 'a passwordFile that does not exist',
    config: edit((doc, ctx) =>
      asiaSasl(doc, ctx, {
        mechanism: 'scram-sha-512',
        username: 'mirror',
        passwordFile: join(ctx.dir, 'absent'),
      }),
    ),
    stderr: /clusters\.asia\.sasl\.passwordFile: cannot read ".*absent": ENOENT/,
  },
  {
    name: 'a passwordFile that is a directory',
    config: edit((doc, ctx) =>
      asiaSasl(doc, ctx, {
        mechanism: 'scram-sha-512',
        username: 'mirror',
        passwordFile: ctx.directory('secrets'),
      }),
    ),
    stderr: /clusters\.asia\.sasl\.passwordFile: cannot read ".*secrets": EISDIR/,
  },
  {
    name: 'a passwordFile without read permission',
    config: edit((doc, ctx) =>
      asiaSasl(doc, ctx, {
        mechanism: 'scram-sha-512',
        username: 'mirror',
        passwordFile: ctx.file('asia-password', ctx.secret, 0o000),
      }),
    ),
    stderr: /clusters\.asia\.sasl\.passwordFile: cannot read ".*asia-password": EACCES/,
    skip: process.getuid?.() === 0 && 'root reads a file without permissions',
  },
  {
    name: 'an empty passwordFile (a newline only)',
    config: edit((doc, ctx) =>
      asiaSasl(doc, ctx, {
        mechanism: 'scram-sha-512',
        username: 'mirror',
        passwordFile: ctx.file('asia-password', '\n'),
      }),
    ),
    stderr: /clusters\.asia\.sasl\.passwordFile: ".*asia-password" is empty/,
  },
  {
    name: 'passwordEnv naming an unset variable',
    config: edit((doc, ctx) =>
      asiaSasl(doc, ctx, { mechanism: 'scram-sha-512', username: 'mirror', passwordEnv: ctx.unsetVariable }),
    ),
    stderr: /clusters\.asia\.sasl\.passwordEnv: environment variable KM_TEST_UNSET_\w+ is not set or empty/,
  },
  {
    name: 'passwordEnv naming an empty variable',
    config: edit((doc, ctx) =>
      asiaSasl(doc, ctx, { mechanism: 'scram-sha-512', username: 'mirror', passwordEnv: ctx.unsetVariable }),
    ),
    env: (ctx) => ({ [ctx.unsetVariable]: '' }),
    stderr: /clusters\.asia\.sasl\.passwordEnv: environment variable KM_TEST_UNSET_\w+ is not set or empty/,
  },
  {
    name: 'a password YAML reads as a number',
    config: edit((doc, ctx) => {
      const sasl = cluster(doc, 'asia')['sasl'] as Record<string, unknown>;
      sasl['password'] = ctx.digits;
      cluster(doc, 'us')['sasl'] = { mechanism: 'plain', username: 'mirror', password: ctx.secret };
    }),
    stderr: /clusters\.asia\.sasl\.password: must be of type String/,
  },
  {
    name: 'a password that is a mapping',
    config: edit((doc, ctx) => {
      const sasl = cluster(doc, 'asia')['sasl'] as Record<string, unknown>;
      sasl['password'] = { value: ctx.secret };
    }),
    stderr: /clusters\.asia\.sasl\.password: must be a value, not a mapping/,
  },
  {
    name: '`sasl: null`',
    config: edit((doc, ctx) => asiaSasl(doc, ctx, null)),
    stderr: /clusters\.asia\.sasl: must be a mapping/,
  },

  // --- tls ---
  {
    name: '`tls: null`',
    config: edit((doc) => (cluster(doc, 'us')['tls'] = null)),
    stderr: /clusters\.us\.tls: must be a mapping/,
  },
  {
    name: 'a TLS cert without its key',
    config: edit(
      (doc, ctx) =>
        (cluster(doc, 'us')['tls'] = { cert: ctx.file('client.pem', '-----BEGIN CERTIFICATE-----\n') }),
    ),
    stderr: /clusters\.us\.tls: cert and key go together/,
  },
  {
    name: 'a TLS key without its cert (the key file holds the secret)',
    config: edit((doc, ctx) => {
      const key = ctx.file(
        'client.key',
        `-----BEGIN PRIVATE KEY-----\n${ctx.secret}\n-----END PRIVATE KEY-----\n`,
      );
      cluster(doc, 'us')['tls'] = { key };
    }),
    stderr: /clusters\.us\.tls: cert and key go together/,
  },
  {
    name: 'a TLS CA file that does not exist',
    config: edit((doc, ctx) => (cluster(doc, 'us')['tls'] = { ca: join(ctx.dir, 'absent-ca.pem') })),
    stderr: /clusters\.us\.tls\.ca: cannot read ".*absent-ca\.pem": ENOENT/,
  },
  {
    name: 'a TLS key that is a directory',
    config: edit(
      (doc, ctx) =>
        (cluster(doc, 'us')['tls'] = {
          cert: ctx.file('client.pem', '-----BEGIN CERTIFICATE-----\n'),
          key: ctx.directory('keys'),
        }),
    ),
    stderr: /clusters\.us\.tls\.key: cannot read ".*keys": not a file/,
  },
  {
    name: 'tls.enabled is "yes"',
    config: edit((doc) => (cluster(doc, 'us')['tls'] = { enabled: 'yes' })),
    stderr: /clusters\.us\.tls\.enabled: must be true or false/,
  },
  {
    name: 'an unknown key under tls',
    config: edit((doc, ctx) => (cluster(doc, 'us')['tls'] = { certificate: ctx.file('client.pem', 'x') })),
    stderr: /clusters\.us\.tls\.certificate: unknown key/,
  },

  // --- flows ---
  {
    name: 'an unknown key in a flow',
    config: edit((doc) => (flow(doc)['sourceCluster'] = 'us')),
    stderr: /flows\[0\]\.sourceCluster: unknown key; did you mean source\?/,
  },
  {
    name: 'a flow naming an unknown cluster',
    config: edit((doc) => (flow(doc)['target'] = 'europe')),
    stderr: /flows\[0\]\.target: no cluster named "europe"/,
  },
  {
    name: 'a flow whose source is its target',
    config: edit((doc) => (flow(doc)['target'] = 'us')),
    stderr: /flows\[0\]: source and target are the same cluster/,
  },
  {
    name: 'a flow without a source',
    config: edit((doc) => delete flow(doc)['source']),
    stderr: /flows\[0\]\.source: required/,
  },
  {
    name: 'a flow that is a string',
    config: edit((doc) => ((doc as Record<string, unknown>)['flows'] = ['us->asia'])),
    stderr: /flows\[0\]: must be a mapping/,
  },
  {
    name: 'an invalid regular expression in include',
    config: edit((doc) => (flow(doc)['topics'] = { include: ['orders\\.(.*'] })),
    stderr: /flows\[0\]\.topics\.include\[0\]: not a valid regular expression/,
  },
  {
    name: 'an invalid regular expression in exclude',
    config: edit((doc) => (flow(doc)['topics'] = { exclude: ['.*\\.internal', '[internal'] })),
    stderr: /flows\[0\]\.topics\.exclude\[1\]: not a valid regular expression/,
  },
  {
    name: 'include is a string, not a list',
    config: edit((doc) => (flow(doc)['topics'] = { include: 'orders' })),
    stderr: /flows\[0\]\.topics\.include: must be a list/,
  },
  {
    name: 'an exclude entry that is not a string',
    config: edit((doc) => (flow(doc)['topics'] = { exclude: [{ pattern: '.*\\.internal' }] })),
    stderr: /flows\[0\]\.topics\.exclude: must be a list of non-empty strings/,
  },
  {
    name: 'exclude is a string, not a list',
    config: edit((doc) => (flow(doc)['topics'] = { exclude: 'x{1,3}\\.internal' })),
    stderr: /flows\[0\]\.topics\.exclude: must be/,
  },
  {
    name: '`topics: null`',
    config: edit((doc) => (flow(doc)['topics'] = null)),
    stderr: /flows\[0\]\.topics: must be a mapping/,
  },
  {
    name: 'two flows with the same name',
    config: edit((doc) => doc.flows.push({ name: 'us->asia', source: 'asia', target: 'us' })),
    stderr: /flows\[1\]\.name: "us->asia" is used by another flow/,
  },
  {
    name: 'a naming policy that does not exist',
    config: edit((doc) => (flow(doc)['naming'] = 'suffix')),
    stderr: /flows\[0\]\.naming: must be one of the possible values/,
  },
  {
    name: 'replicationFactor is a word',
    config: edit((doc) => (flow(doc)['replicationFactor'] = 'three')),
    stderr: /flows\[0\]\.replicationFactor: must be -1 \(the target's default\) or from 1 to 16/,
  },
  {
    name: 'an unknown delivery mode',
    config: edit((doc) => (flow(doc)['delivery'] = 'at-most-once')),
    stderr: /flows\[0\]\.delivery: must be one of/,
  },
  {
    name: 'a transaction interval not below the transaction timeout',
    config: edit((doc) => (flow(doc)['transaction'] = { intervalMs: 60_000, timeoutMs: 30_000 })),
    stderr: /flows\[0\]\.transaction\.intervalMs: must be below transaction\.timeoutMs/,
  },
  {
    name: 'a negative commitIntervalMs',
    config: edit((doc) => (flow(doc)['commitIntervalMs'] = -5000)),
    stderr: /flows\[0\]\.commitIntervalMs: must be a positive integer/,
  },

  // --- values ---
  {
    name: 'a negative size',
    config: edit((doc) => (doc['queue'] = { maxBytes: -1 })),
    stderr: /queue\.maxBytes: must be a byte size/,
  },
  {
    name: 'a size that is a word',
    config: edit((doc) => (doc['queue'] = { maxBytes: 'lots' })),
    stderr: /queue\.maxBytes: must be a byte size/,
  },
  {
    name: 'a size with an unknown unit',
    config: edit((doc) => (doc['consumer'] = { maxBytes: '4XB' })),
    stderr: /consumer\.maxBytes: must be a byte size/,
  },
  {
    name: 'queue.maxRecords is zero',
    config: edit((doc) => (doc['queue'] = { maxRecords: 0 })),
    stderr: /queue\.maxRecords: must be a positive integer/,
  },
  {
    name: 'a negative producer.concurrency',
    config: edit((doc) => (doc['producer'] = { concurrency: -4 })),
    stderr: /producer\.concurrency: must be a positive integer/,
  },
  {
    name: 'a fractional consumer.maxWaitMs',
    config: edit((doc) => (doc['consumer'] = { maxWaitMs: 1.5 })),
    stderr: /consumer\.maxWaitMs: must be a positive integer/,
  },
  {
    name: 'shutdown.timeoutMs with a unit',
    config: edit((doc) => (doc['shutdown'] = { timeoutMs: '30s' })),
    stderr: /shutdown\.timeoutMs: must be a positive integer/,
  },
  {
    name: 'heartbeats.enabled is "yes"',
    config: edit((doc) => (doc['heartbeats'] = { enabled: 'yes' })),
    stderr: /heartbeats\.enabled: must be true or false/,
  },
  {
    name: 'a log level that does not exist',
    config: edit((doc) => (doc['log'] = { level: 'verbose' })),
    stderr: /log\.level: must be one of the possible values/,
  },
  {
    name: 'a compression codec that does not exist',
    config: edit((doc) => (doc['producer'] = { compression: 'brotli' })),
    stderr: /producer\.compression: must be one of the possible values/,
  },
  {
    name: 'admin.port above 65535',
    config: edit((doc) => (doc['admin'] = { port: 70000 })),
    stderr: /admin\.port: ports must be within range/,
  },
  {
    name: 'admin.port is a word',
    config: edit((doc) => (doc['admin'] = { port: 'http' })),
    stderr: /admin\.port: ports must be within range/,
  },
  {
    name: 'an environment override that is not a number',
    config: edit(() => {}),
    env: () => ({ KAFKA_MIRROR_QUEUE_MAX_RECORDS: 'many' }),
    stderr: /queue\.maxRecords: must be a positive integer.*\(from KAFKA_MIRROR_QUEUE_MAX_RECORDS\)$/m,
  },

  // --- values found accepted or mishandled (issue 20) ---
  {
    name: 'a negative bandwidth cap in a flow',
    config: edit((doc) => (flow(doc)['maxBytesPerSecond'] = '-1MiB')),
    stderr: /flows\[0\]\.maxBytesPerSecond: must be a byte size/,
  },
  {
    name: 'a negative transaction size in a flow',
    config: edit((doc) => (flow(doc)['transaction'] = { maxBytes: -5 })),
    stderr: /flows\[0\]\.transaction\.maxBytes: must be a byte size/,
  },
  {
    name: 'a transaction size of zero',
    config: edit((doc) => (flow(doc)['transaction'] = { maxBytes: '0MiB' })),
    stderr: /flows\[0\]\.transaction\.maxBytes: must be a byte size above 0/,
  },
  {
    name: 'queue.maxBytes is zero',
    config: edit((doc) => (doc['queue'] = { maxBytes: 0 })),
    stderr: /queue\.maxBytes: must be a byte size above 0/,
  },
  {
    name: 'consumer.maxBytes is zero',
    config: edit((doc) => (doc['consumer'] = { maxBytes: 0 })),
    stderr: /consumer\.maxBytes: must be a byte size above 0/,
  },
  {
    name: 'producer.maxRequestBytes is zero',
    config: edit((doc) => (doc['producer'] = { maxRequestBytes: '0KiB' })),
    stderr: /producer\.maxRequestBytes: must be a byte size above 0/,
  },
  ...[0, -7, 1000].map((factor): Row => ({
    name: `replicationFactor ${factor}`,
    config: edit((doc) => (flow(doc)['replicationFactor'] = factor)),
    stderr: /flows\[0\]\.replicationFactor: must be -1 \(the target's default\) or from 1 to 16/,
  })),
  {
    name: 'shutdown.timeoutMs above 2^31-1 ms (Node would fire the timer after 1 ms)',
    config: edit((doc) => (doc['shutdown'] = { timeoutMs: 2_147_483_648 })),
    stderr: /shutdown\.timeoutMs: must be a positive integer.* at most 2147483647/,
  },
  {
    name: 'heartbeats.intervalMs above 2^31-1 ms',
    config: edit((doc) => (doc['heartbeats'] = { intervalMs: 3_000_000_000 })),
    stderr: /heartbeats\.intervalMs: must be a positive integer.* at most 2147483647/,
  },
  {
    name: 'a flow duration above 2^31-1 ms',
    config: edit((doc) => (flow(doc)['commitIntervalMs'] = 2 ** 32)),
    stderr: /flows\[0\]\.commitIntervalMs: must be a positive integer.* at most 2147483647/,
  },
  {
    name: 'a duration above 2^31-1 ms from an environment variable',
    config: edit(() => {}),
    env: () => ({ KAFKA_MIRROR_SHUTDOWN_TIMEOUT_MS: '2147483648' }),
    stderr: /shutdown\.timeoutMs: must be .* \(from KAFKA_MIRROR_SHUTDOWN_TIMEOUT_MS\)$/m,
  },
  {
    name: 'two flows with different names copying the same topics between the same clusters',
    config: edit((doc) =>
      doc.flows.push({
        name: 'orders-again',
        source: 'us',
        target: 'asia',
        topics: { include: ['orders\\.eu'] },
      }),
    ),
    stderr:
      /flows\[1\] \("orders-again"\) and flows\[0\] \("us->asia"\) both copy topics from us to asia \(such as orders\\\.eu\)/,
  },

  // --- syntax ---
  {
    name: 'YAML: an unclosed flow sequence',
    config: (ctx) =>
      yamlWithPassword(ctx, 'password: SECRET').replace('[kafka-us-1:9092]', '[kafka-us-1:9092'),
    // Where the unclosed `[` opens (line 3), not where the parser noticed (line 4).
    stderr: /not valid YAML or JSON: .* at line 3, column 23\b/,
  },
  {
    name: 'YAML: a tab used for indentation',
    config: (ctx) => yamlWithPassword(ctx, 'password: SECRET').replace('  us:', '\tus:'),
    stderr: /not valid YAML or JSON: Tabs are not allowed as indentation at line 2/,
  },
  {
    name: 'YAML: an unclosed quote in the password',
    config: (ctx) => yamlWithPassword(ctx, 'password: "SECRET'),
    // Where the quoted password starts (line 9), not the end of the file where the parser noticed.
    stderr: /not valid YAML or JSON: Missing closing "quote at line 9, column 17\b/,
  },
  {
    name: 'YAML: a misindented key right after the password',
    config: (ctx) => yamlWithPassword(ctx, 'password: SECRET', '     clientId: mirror'),
    stderr: /not valid YAML or JSON: All mapping items must start at the same column at line 10/,
  },
  {
    name: 'YAML: the password key given twice',
    config: (ctx) => yamlWithPassword(ctx, 'password: SECRET', '      password: SECRET'),
    stderr: /not valid YAML or JSON: Map keys must be unique at line 10, column 7/,
  },
  {
    name: 'YAML: a cluster alias given twice',
    config: (ctx) => yamlWithPassword(ctx, 'password: SECRET').replace('  asia:', '  us:'),
    stderr: /not valid YAML or JSON: Map keys must be unique at line 4, column 3/,
  },
  {
    name: 'YAML: an alias to an anchor that does not exist',
    config: (ctx) => yamlWithPassword(ctx, 'password: SECRET').replace('username: mirror', 'username: *user'),
    stderr: /not valid YAML or JSON: Unresolved alias/,
  },
  {
    name: 'JSON: a file cut short after the password (one line, as generated)',
    config: (ctx) => {
      const text = JSON.stringify(base(ctx.secret));
      return text.slice(0, text.indexOf(ctx.secret) + ctx.secret.length + 2);
    },
    ext: 'json',
    stderr: /not valid YAML or JSON: .* at line 1, column \d+/,
  },
];

async function tempDir(t: TestContext): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'kafka-mirror-bad-input-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

async function context(t: TestContext): Promise<{ ctx: Ctx; written: string[] }> {
  const dir = await tempDir(t);
  const written: string[] = [];
  const ctx: Ctx = {
    secret: `km-secret-${randomUUID()}`,
    digits: randomInt(10 ** 11, 10 ** 12) * 1000 + 777,
    dir,
    unsetVariable: `KM_TEST_UNSET_${randomUUID().replace(/-/g, '_')}`,
    file(name, content, mode = 0o600) {
      const path = join(dir, name);
      writeFileSync(path, content, { mode });
      written.push(content);
      return path;
    },
    directory(name) {
      const path = join(dir, name);
      mkdirSync(path);
      return path;
    },
  };
  return { ctx, written };
}

/** Sets variables for the rest of the test; the previous values come back after it. */
function setEnv(t: TestContext, variables: Record<string, string>): void {
  for (const [name, value] of Object.entries(variables)) {
    const previous = process.env[name];
    process.env[name] = value;
    t.after(() => {
      if (previous === undefined) delete process.env[name];
      else process.env[name] = previous;
    });
  }
}

async function validate(file: string): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const code = await main(['validate', '--config', file], {
    out: (text) => (stdout += text),
    err: (text) => (stderr += text),
  });
  return { code, stdout, stderr };
}

test('the table has at least 30 rows, each named once', () => {
  assert.ok(rows.length >= 30, `${rows.length} rows`);
  assert.equal(new Set(rows.map((r) => r.name)).size, rows.length);
});

test('the base config of the rows is valid, so each row fails for its own change', async (t) => {
  const { ctx } = await context(t);
  const file = ctx.file('base.yaml', stringify(base(ctx.secret)));
  const { code, stdout, stderr } = await validate(file);
  assert.equal(code, ExitCode.OK, stderr);
  assert.match(stdout, /valid; 1 flow\(s\)/);
  assert.ok(!stdout.includes(ctx.secret), 'validate does not print the password');
});

for (const row of rows) {
  test(row.name, { todo: row.todo, skip: row.skip }, async (t) => {
    const { ctx, written } = await context(t);
    const config = row.config(ctx);
    const text =
      typeof config === 'string' ? config : row.ext === 'json' ? JSON.stringify(config) : stringify(config);
    const file = join(ctx.dir, `kafka-mirror.${row.ext ?? 'yaml'}`);
    writeFileSync(file, text);
    const secrets = [ctx.secret, String(ctx.digits)];
    assert.ok(
      [text, ...written].some((content) => secrets.some((s) => content.includes(s))),
      'the row carries a secret',
    );
    setEnv(t, row.env?.(ctx) ?? {});

    const { code, stdout, stderr } = await validate(file);
    assert.equal(code, ExitCode.USAGE, `exit code; stdout: ${stdout}; stderr: ${stderr}`);
    assert.equal(stdout, '');
    assert.match(stderr, /^kafka-mirror: invalid configuration \(/);
    assert.match(stderr, row.stderr);
    if (row.absent !== undefined) assert.doesNotMatch(stderr, row.absent);
    for (const secret of secrets) assert.ok(!stderr.includes(secret), `stderr shows the secret:\n${stderr}`);
  });
}

test('every broken value of a file is reported at once, exit 2, each under its key', async (t) => {
  const { ctx } = await context(t);
  const doc = base(ctx.secret);
  doc['queue'] = { maxBytes: 0 };
  doc['shutdown'] = { timeoutMs: 2_147_483_648 };
  Object.assign(flow(doc), {
    maxBytesPerSecond: '-1MiB',
    transaction: { maxBytes: -5 },
    replicationFactor: 0,
  });
  const file = ctx.file('all.yaml', stringify(doc));
  const { code, stderr } = await validate(file);
  assert.equal(code, ExitCode.USAGE, stderr);
  for (const key of [
    'queue.maxBytes',
    'shutdown.timeoutMs',
    'flows[0].maxBytesPerSecond',
    'flows[0].transaction.maxBytes',
    'flows[0].replicationFactor',
  ]) {
    assert.ok(stderr.includes(`  - ${key}: `), `${key} not named in:\n${stderr}`);
  }
});
