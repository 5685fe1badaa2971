import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseConfig } from '../../../src/config/index.ts';
import { clusterSchema, flowSchema, topLevelSchema } from '../../../src/config/schema.ts';
import { ConfigError, KafkaMirrorError } from '../../../src/errors/index.ts';

/** The smallest valid document: two clusters and one flow between them. */
function minimal(): Record<string, unknown> {
  return {
    clusters: {
      us: { bootstrapServers: ['us-kafka-1:9092', 'us-kafka-2:9092'] },
      eu: { bootstrapServers: ['eu-kafka:9092'] },
    },
    flows: [{ source: 'us', target: 'eu' }],
  };
}

/** The problems a document is rejected with; fails if it is accepted. */
function problemsOf(document: unknown, env: NodeJS.ProcessEnv = {}): readonly string[] {
  try {
    parseConfig(document, 'test.yaml', env);
  } catch (error) {
    assert.ok(error instanceof ConfigError, `expected a ConfigError, got ${String(error)}`);
    return error.problems;
  }
  assert.fail('the document was accepted');
}

function assertHasProblem(problems: readonly string[], pattern: RegExp): void {
  assert.ok(
    problems.some((p) => pattern.test(p)),
    `no problem matches ${String(pattern)} in:\n${problems.join('\n')}`,
  );
}

test('a minimal document gets every documented default', () => {
  const config = parseConfig(minimal());
  assert.deepEqual(config.clusters['us'], {
    alias: 'us',
    bootstrapServers: ['us-kafka-1:9092', 'us-kafka-2:9092'],
    clientId: 'kafka-mirror',
    connectionTimeoutMs: 10_000,
    tls: { enabled: false },
    sasl: undefined,
  });
  assert.equal(config.clusters['eu']?.alias, 'eu');
  assert.equal(config.flows.length, 1);
  assert.deepEqual(config.flows[0], {
    name: 'us->eu',
    source: 'us',
    target: 'eu',
    group: 'kafka-mirror.us-eu',
    topics: { include: ['.*'], exclude: [] },
    naming: 'identity',
    stackPrefixes: false,
    startFrom: 'earliest',
    refreshIntervalMs: 30_000,
    commitIntervalMs: 5000,
    maxBytesPerSecond: 0,
    replicationFactor: -1,
    delivery: 'at-least-once',
    transaction: {
      maxRecords: 50_000,
      maxBytes: 32 * 2 ** 20,
      intervalMs: 1000,
      idleCommitMs: 100,
      timeoutMs: 60_000,
      positionsTopic: 'kafka-mirror.positions.us-eu',
    },
    topicConfigs: [
      'cleanup.policy',
      'retention.ms',
      'retention.bytes',
      'max.message.bytes',
      'compression.type',
      'min.compaction.lag.ms',
      'max.compaction.lag.ms',
      'delete.retention.ms',
      'message.timestamp.type',
      'segment.bytes',
      'segment.ms',
      'min.cleanable.dirty.ratio',
    ],
    groupOffsetSync: { enabled: false, include: ['.*'], exclude: [], intervalMs: 10_000 },
    topicConfigSync: {
      enabled: true,
      exclude: [
        'follower\\.replication\\.throttled\\.replicas',
        'leader\\.replication\\.throttled\\.replicas',
        'message\\.timestamp\\.difference\\.max\\.ms',
        'message\\.timestamp\\.type',
        'unclean\\.leader\\.election\\.enable',
        'min\\.insync\\.replicas',
        'message\\.timestamp\\.before\\.max\\.ms',
        'message\\.timestamp\\.after\\.max\\.ms',
      ],
    },
    aclSync: { enabled: false },
    drill: { intervalMs: 0, groups: [], records: 100 },
  });
  assert.deepEqual(config.queue, { maxRecords: 100_000, maxBytes: 64 * 2 ** 20 });
  assert.deepEqual(config.consumer, {
    maxBytes: 8 * 2 ** 20,
    maxBytesPerPartition: 2 * 2 ** 20,
    maxWaitMs: 500,
    sessionTimeoutMs: 30_000,
  });
  assert.deepEqual(config.producer, {
    compression: 'source',
    maxRequestBytes: 960 * 2 ** 10,
    concurrency: 32,
    maxInFlightPerPartition: 5,
    requestTimeoutMs: 30_000,
  });
  assert.deepEqual(config.shutdown, { timeoutMs: 30_000 });
  assert.deepEqual(config.heartbeats, { enabled: true, intervalMs: 5000 });
  assert.deepEqual(config.metrics, { lagIntervalMs: 10_000 });
  assert.deepEqual(config.admin, {
    host: '0.0.0.0',
    port: 9464,
    stallTimeoutMs: 30_000,
    tls: undefined,
    control: { enabled: false, tokens: [] },
  });
  assert.deepEqual(config.log, { level: 'info', pretty: false });
});

test('given values override the defaults, sizes are parsed to bytes', () => {
  const config = parseConfig({
    ...minimal(),
    queue: { maxRecords: 500, maxBytes: '8MiB' },
    consumer: { maxBytes: 1_048_576, maxBytesPerPartition: '512 KiB' },
    producer: { compression: 'zstd', maxRequestBytes: '1MB', concurrency: 4 },
    admin: { port: 0 },
    log: { level: 'debug', pretty: true },
  });
  assert.deepEqual(config.queue, { maxRecords: 500, maxBytes: 8 * 2 ** 20 });
  assert.equal(config.consumer.maxBytes, 1_048_576);
  assert.equal(config.consumer.maxBytesPerPartition, 512 * 1024);
  assert.equal(config.producer.compression, 'zstd');
  assert.equal(config.producer.maxRequestBytes, 1_000_000);
  assert.equal(config.producer.concurrency, 4);
  assert.equal(config.admin.port, 0);
  assert.deepEqual(config.log, { level: 'debug', pretty: true });
});

test('a named flow derives its group from its name; an explicit group is kept', () => {
  const config = parseConfig({
    ...minimal(),
    flows: [
      { name: 'orders', source: 'us', target: 'eu', naming: 'prefix', topics: { include: ['orders'] } },
      { source: 'eu', target: 'us', group: 'my-group', startFrom: 'latest' },
    ],
  });
  assert.equal(config.flows[0]?.name, 'orders');
  assert.equal(config.flows[0]?.group, 'kafka-mirror.orders');
  assert.equal(config.flows[0]?.naming, 'prefix');
  assert.deepEqual(config.flows[0]?.topics, { include: ['orders'], exclude: [] });
  assert.equal(config.flows[1]?.name, 'eu->us');
  assert.equal(config.flows[1]?.group, 'my-group');
  assert.equal(config.flows[1]?.startFrom, 'latest');
});

test('every problem is reported at once, each with its key path', () => {
  const problems = problemsOf({
    bogus: 1,
    queue: { maxBytes: 'lots', surprise: true },
    clusters: {
      us: { bootstrapServers: ['localhost'], extra: 1 },
      eu: { bootstrapServers: ['eu:9092'] },
    },
    flows: [
      { source: 'us', target: 'us', topics: { include: ['orders('], foo: 1 }, whatever: 2 },
      { source: 'us', target: 'asia' },
      { source: 'us', target: 'eu' },
      { source: 'us', target: 'eu' },
    ],
  });
  const expected = [
    /^bogus: unknown key$/,
    /^queue\.surprise: unknown key$/,
    /^queue\.maxBytes: must be a byte size/,
    /^clusters\.us\.extra: unknown key$/,
    /^clusters\.us\.bootstrapServers: "localhost" is not host:port \(port 1-65535\)$/,
    /^flows\[0\]\.whatever: unknown key$/,
    /^flows\[0\]\.topics\.foo: unknown key$/,
    /^flows\[0\]: source and target are the same cluster$/,
    /^flows\[0\]\.topics\.include\[0\]: not a valid regular expression/,
    /^flows\[1\]\.target: no cluster named "asia"$/,
    /^flows\[3\]\.name: "us->eu" is used by another flow$/,
  ];
  for (const pattern of expected) assertHasProblem(problems, pattern);
  assert.equal(problems.length, expected.length, `unexpected extra problems:\n${problems.join('\n')}`);
});

test('the error is a ConfigError with code KM_CONFIG that lists the problems in its message', () => {
  let caught: unknown;
  try {
    parseConfig({ ...minimal(), bogus: 1, log: { level: 'loud' } }, 'mirror.yaml');
  } catch (error) {
    caught = error;
  }
  assert.ok(caught instanceof ConfigError);
  assert.ok(caught instanceof KafkaMirrorError);
  assert.equal(caught.code, 'KM_CONFIG');
  assert.equal(ConfigError.code, 'KM_CONFIG');
  assert.equal(caught.retriable, false);
  assert.equal(caught.name, 'ConfigError');
  assert.equal(caught.problems.length, 2);
  assert.match(caught.message, /mirror\.yaml/);
  for (const problem of caught.problems) assert.ok(caught.message.includes(problem), problem);
  assertHasProblem(caught.problems, /^log\.level: must be one of/);
});

test('a top level that is not a mapping is rejected', () => {
  for (const document of [null, [], 'clusters: x', 42, undefined]) {
    const problems = problemsOf(document);
    assert.deepEqual(problems, ['the top level must be a mapping of keys (clusters, flows, ...)']);
  }
});

test('no clusters and no flows are both reported', () => {
  for (const document of [{}, { clusters: {}, flows: [] }]) {
    const problems = problemsOf(document);
    assertHasProblem(problems, /^clusters: at least one cluster is required$/);
    assertHasProblem(problems, /^flows: at least one flow is required$/);
  }
});

test('clusters must be a mapping and flows a list', () => {
  const problems = problemsOf({ clusters: [{ bootstrapServers: ['a:1'] }], flows: 5 });
  assertHasProblem(problems, /^clusters: must be a mapping of alias to cluster$/);
  assertHasProblem(problems, /^flows: must be a list of flows$/);
});

// Bug: convict handles these shapes itself before parseConfig sees them: a mapping under `flows`
// fails inside convict with "Cannot read properties of undefined (reading 'orders')", and a string
// under `clusters` is parsed as JSON ("Unexpected token ..."). Both problems come without a key
// path, though ConfigError promises "every problem, each with its key path".
test('a clusters or flows value of the wrong shape is reported under its key, not as an internal error', () => {
  const cases: Array<[string, Record<string, unknown>]> = [
    ['flows as a mapping', { ...minimal(), flows: { orders: { source: 'us', target: 'eu' } } }],
    ['clusters as a string', { ...minimal(), clusters: 'us-kafka:9092' }],
  ];
  const unlocated: string[] = [];
  for (const [name, document] of cases) {
    for (const problem of problemsOf(document)) {
      if (!/^(clusters|flows)(\[\d+\])?[.:]/.test(problem)) unlocated.push(`${name}: ${problem}`);
    }
  }
  assert.deepEqual(unlocated, []);
});

test('a flow whose source or target is missing or unknown is reported', () => {
  const problems = problemsOf({
    ...minimal(),
    flows: [{ target: 'eu' }, { source: 'mars', target: 'us' }, 'us->eu'],
  });
  assertHasProblem(problems, /^flows\[0\]\.source: required/);
  assertHasProblem(problems, /^flows\[1\]\.source: no cluster named "mars"$/);
  assertHasProblem(problems, /^flows\[2\]: must be a mapping$/);
});

test('source == target is reported', () => {
  const problems = problemsOf({ ...minimal(), flows: [{ source: 'eu', target: 'eu' }] });
  assert.deepEqual(problems, ['flows[0]: source and target are the same cluster']);
});

test('duplicate flow names are reported, explicit or defaulted', () => {
  const problems = problemsOf({
    ...minimal(),
    flows: [
      { name: 'x', source: 'us', target: 'eu' },
      { name: 'x', source: 'eu', target: 'us' },
      { source: 'eu', target: 'us' },
      { name: 'eu->us', source: 'us', target: 'eu' },
    ],
  });
  // (These flows also copy the same topics twice each way: reported too, test/unit/config/flow-overlap.test.ts.)
  assert.deepEqual(
    problems.filter((p) => p.includes('.name: ')),
    ['flows[1].name: "x" is used by another flow', 'flows[3].name: "eu->us" is used by another flow'],
  );
});

test('invalid include and exclude regular expressions are reported with their index', () => {
  const problems = problemsOf({
    ...minimal(),
    flows: [{ source: 'us', target: 'eu', topics: { include: ['ok', '[a-'], exclude: ['*x'] } }],
  });
  assertHasProblem(problems, /^flows\[0\]\.topics\.include\[1\]: not a valid regular expression/);
  assertHasProblem(problems, /^flows\[0\]\.topics\.exclude\[0\]: not a valid regular expression/);
  assert.equal(problems.length, 2);
});

test('group offset sync: settings are read, bad group patterns and intervals reported', () => {
  const config = parseConfig({
    ...minimal(),
    flows: [
      {
        source: 'us',
        target: 'eu',
        groupOffsetSync: {
          enabled: true,
          include: ['billing-.*'],
          exclude: ['billing-test'],
          intervalMs: 2000,
        },
      },
    ],
  });
  assert.deepEqual(config.flows[0]?.groupOffsetSync, {
    enabled: true,
    include: ['billing-.*'],
    exclude: ['billing-test'],
    intervalMs: 2000,
  });
  const problems = problemsOf({
    ...minimal(),
    flows: [
      { source: 'us', target: 'eu', groupOffsetSync: { include: ['(x'], intervalMs: 0, enabled: 'yes' } },
    ],
  });
  assertHasProblem(problems, /^flows\[0\]\.groupOffsetSync\.include\[0\]: not a valid regular expression/);
  assertHasProblem(problems, /^flows\[0\]\.groupOffsetSync\.intervalMs/);
  assertHasProblem(problems, /^flows\[0\]\.groupOffsetSync\.enabled/);
});

// Bug: a pattern is checked only after being wrapped in `^(?:...)$`, so a pattern with unbalanced
// parentheses that is not a regular expression on its own passes, and it breaks the whole-name
// match: "orders)|(?:" becomes /^(?:orders)|(?:)$/, which selects "orders2", "orders-dlq", ...
test('a pattern that is only valid once wrapped (unbalanced parentheses) is reported', () => {
  const problems = problemsOf({
    ...minimal(),
    flows: [{ source: 'us', target: 'eu', topics: { include: ['orders)|(?:'] } }],
  });
  assertHasProblem(problems, /^flows\[0\]\.topics\.include\[0\]: not a valid regular expression/);
});

test('bad bootstrap servers and empty lists are reported per cluster', () => {
  const problems = problemsOf({
    clusters: {
      us: { bootstrapServers: ['ok:9092', 'no-port', 'host:', ':9092', 'two words:1', 'host:port'] },
      eu: { bootstrapServers: [] },
      asia: { bootstrapServers: 'asia:9092' },
    },
    flows: [{ source: 'us', target: 'eu' }],
  });
  for (const server of ['no-port', 'host:', ':9092', 'two words:1', 'host:port']) {
    assert.ok(
      problems.includes(`clusters.us.bootstrapServers: "${server}" is not host:port (port 1-65535)`),
      server,
    );
  }
  assert.ok(!problems.some((p) => p.includes('"ok:9092"')));
  assertHasProblem(problems, /^clusters\.eu\.bootstrapServers: at least one host:port is required$/);
  assertHasProblem(problems, /^clusters\.asia\.bootstrapServers: must be a list of non-empty strings/);
});

test('a cluster alias that cannot appear in topic names and headers is reported', () => {
  const problems = problemsOf({
    clusters: { 'us east': { bootstrapServers: ['a:1'] }, eu: { bootstrapServers: ['b:1'] } },
    flows: [{ source: 'us east', target: 'eu' }],
  });
  assert.deepEqual(problems, [
    'clusters.us east: an alias is letters, digits, "-" and "_" (it appears in topic names and headers)',
  ]);
});

test('bad sizes and numbers are reported with their key path', () => {
  const problems = problemsOf({
    ...minimal(),
    queue: { maxRecords: 0, maxBytes: '-1' },
    consumer: { maxBytesPerPartition: 1.5 },
    producer: { concurrency: 'many', compression: 'brotli', maxInFlightPerPartition: 6 },
  });
  assertHasProblem(problems, /^queue\.maxRecords: must be a positive integer/);
  assertHasProblem(problems, /^queue\.maxBytes: must be a byte size/);
  assertHasProblem(problems, /^consumer\.maxBytesPerPartition: must be a byte size/);
  assertHasProblem(problems, /^producer\.concurrency: must be a positive integer/);
  assertHasProblem(problems, /^producer\.compression: must be one of/);
  assertHasProblem(problems, /^producer\.maxInFlightPerPartition: must be an integer from 1 to 5/);
  assert.equal(problems.length, 6);
});

test('the result is deeply frozen', () => {
  const config = parseConfig({
    ...minimal(),
    flows: [{ source: 'us', target: 'eu', topics: { include: ['a'], exclude: ['b'] } }],
  });
  const unfrozen: string[] = [];
  const walk = (value: unknown, path: string) => {
    if (value === null || typeof value !== 'object') return;
    if (!Object.isFrozen(value)) unfrozen.push(path);
    for (const [key, inner] of Object.entries(value)) walk(inner, `${path}.${key}`);
  };
  walk(config, 'config');
  assert.deepEqual(unfrozen, []);
  assert.throws(() => {
    (config.queue as { maxBytes: number }).maxBytes = 1;
  }, TypeError);
  assert.throws(() => {
    (config.flows[0]?.topics.include as string[]).push('.*');
  }, TypeError);
  assert.throws(() => {
    (config.clusters as Record<string, unknown>)['evil'] = {};
  }, TypeError);
  assert.equal(config.queue.maxBytes, 64 * 2 ** 20);
});

test('the input document is neither frozen nor shared with the result', () => {
  const document = minimal();
  const config = parseConfig(document);
  assert.equal(Object.isFrozen(document), false);
  const clusters = document['clusters'] as { us: { bootstrapServers: string[] } };
  clusters.us.bootstrapServers.push('late:9092');
  assert.deepEqual(config.clusters['us']?.bootstrapServers, ['us-kafka-1:9092', 'us-kafka-2:9092']);
});

test('environment overrides come from the env parameter', () => {
  const config = parseConfig(minimal(), 'config', {
    KAFKA_MIRROR_LOG_LEVEL: 'debug',
    KAFKA_MIRROR_QUEUE_MAX_BYTES: '1048576',
    KAFKA_MIRROR_QUEUE_MAX_RECORDS: '7',
    KAFKA_MIRROR_SHUTDOWN_TIMEOUT_MS: '1500',
    KAFKA_MIRROR_ADMIN_PORT: '9999',
  });
  assert.equal(config.log.level, 'debug');
  assert.equal(config.queue.maxBytes, 1_048_576);
  assert.equal(config.queue.maxRecords, 7);
  assert.equal(config.shutdown.timeoutMs, 1500);
  assert.equal(config.admin.port, 9999);
  const sized = parseConfig(minimal(), 'config', { KAFKA_MIRROR_QUEUE_MAX_BYTES: '32MiB' });
  assert.equal(sized.queue.maxBytes, 32 * 2 ** 20);
});

test('an environment override wins over the file', () => {
  const config = parseConfig(
    { ...minimal(), log: { level: 'warn' }, queue: { maxBytes: '1MiB' } },
    'config',
    {
      KAFKA_MIRROR_LOG_LEVEL: 'trace',
      KAFKA_MIRROR_QUEUE_MAX_BYTES: '2MiB',
    },
  );
  assert.equal(config.log.level, 'trace');
  assert.equal(config.queue.maxBytes, 2 * 2 ** 20);
});

test('an invalid environment override is reported like a file value', () => {
  const problems = problemsOf(minimal(), {
    KAFKA_MIRROR_LOG_LEVEL: 'verbose',
    KAFKA_MIRROR_QUEUE_MAX_BYTES: 'lots',
  });
  assertHasProblem(problems, /^log\.level: must be one of/);
  assertHasProblem(problems, /^queue\.maxBytes: must be a byte size/);
});

test('process.env is not read: only the env parameter counts', (t) => {
  const saved = process.env['KAFKA_MIRROR_LOG_LEVEL'];
  t.after(() => {
    if (saved === undefined) delete process.env['KAFKA_MIRROR_LOG_LEVEL'];
    else process.env['KAFKA_MIRROR_LOG_LEVEL'] = saved;
  });
  process.env['KAFKA_MIRROR_LOG_LEVEL'] = 'trace';
  assert.equal(parseConfig(minimal()).log.level, 'info');
  assert.equal(parseConfig(minimal(), 'config', { KAFKA_MIRROR_LOG_LEVEL: 'error' }).log.level, 'error');
});

test('every scalar top-level key has an environment override named after its path', () => {
  const config = parseConfig(minimal(), 'config', {
    KAFKA_MIRROR_CONSUMER_MAX_WAIT_MS: '250',
    KAFKA_MIRROR_PRODUCER_COMPRESSION: 'zstd',
    KAFKA_MIRROR_ADMIN_HOST: '127.0.0.1',
    KAFKA_MIRROR_ADMIN_STALL_TIMEOUT_MS: '5000',
    KAFKA_MIRROR_HEARTBEATS_ENABLED: 'false',
    KAFKA_MIRROR_METRICS_LAG_INTERVAL_MS: '2000',
    KAFKA_MIRROR_LOG_PRETTY: 'true',
  });
  assert.equal(config.consumer.maxWaitMs, 250);
  assert.equal(config.producer.compression, 'zstd');
  assert.equal(config.admin.host, '127.0.0.1');
  assert.equal(config.admin.stallTimeoutMs, 5000);
  assert.equal(config.heartbeats.enabled, false);
  assert.equal(config.metrics.lagIntervalMs, 2000);
  assert.equal(config.log.pretty, true);
});

test('an environment override of a yes/no key must be true or false', () => {
  assert.throws(
    () => parseConfig(minimal(), 'config', { KAFKA_MIRROR_HEARTBEATS_ENABLED: 'yes' }),
    /heartbeats\.enabled: must be true or false/,
  );
});

/** Every key whose name ends in Ms, with its path (`flows[0].` and `clusters.us.` for the per-entry schemas). */
function durationKeys(): string[] {
  const walk = (schema: object, prefix: string): string[] =>
    Object.entries(schema).flatMap(([key, node]: [string, unknown]) =>
      typeof node === 'object' && node !== null && 'doc' in node
        ? key.endsWith('Ms')
          ? [`${prefix}${key}`]
          : []
        : walk(node as object, `${prefix}${key}.`),
    );
  return [
    ...walk(topLevelSchema, ''),
    ...walk(clusterSchema, 'clusters.us.'),
    ...walk(flowSchema, 'flows[0].'),
  ];
}

/** minimal() with `value` at a dotted path such as `flows[0].transaction.timeoutMs`. */
function withValue(path: string, value: unknown): Record<string, unknown> {
  const document = minimal();
  const parts = path.replace(/\[(\d+)\]/g, '.$1').split('.');
  let node = document as Record<string, unknown>;
  for (const part of parts.slice(0, -1)) node = (node[part] ??= {}) as Record<string, unknown>;
  node[parts.at(-1) as string] = value;
  return document;
}

test('every duration refuses more than 2^31-1 ms (Node fires such a timer after 1 ms) and takes 2^31-1', () => {
  const keys = durationKeys();
  assert.ok(keys.length >= 13, keys.join(', '));
  for (const key of keys) {
    const escaped = key.replace(/[.[\]]/g, '\\$&');
    assertHasProblem(
      problemsOf(withValue(key, 2 ** 31)),
      new RegExp(`^${escaped}: must be a positive integer.* at most 2147483647`),
    );
    // transaction.intervalMs must also stay below transaction.timeoutMs
    const document = withValue(key, 2 ** 31 - 1);
    if (key === 'flows[0].transaction.intervalMs') continue;
    assert.doesNotThrow(() => parseConfig(document), key);
  }
});

test('sizes that budget memory or requests must be above zero; the bandwidth cap may be 0 (none)', () => {
  for (const key of [
    'queue.maxBytes',
    'consumer.maxBytes',
    'consumer.maxBytesPerPartition',
    'producer.maxRequestBytes',
    'flows[0].transaction.maxBytes',
  ]) {
    const escaped = key.replace(/[.[\]]/g, '\\$&');
    for (const zero of [0, '0', '0MiB']) {
      assertHasProblem(
        problemsOf(withValue(key, zero)),
        new RegExp(`^${escaped}: must be a byte size above 0`),
      );
    }
  }
  assert.equal(parseConfig(withValue('flows[0].maxBytesPerSecond', 0)).flows[0]?.maxBytesPerSecond, 0);
});

test('a malformed size inside a flow is reported under its key with every other problem', () => {
  const document = minimal();
  (document['flows'] as Array<Record<string, unknown>>)[0] = {
    source: 'us',
    target: 'eu',
    maxBytesPerSecond: '-1MiB',
    transaction: { maxBytes: -5 },
    replicationFactor: 1000,
  };
  const problems = problemsOf({ ...document, queue: { maxBytes: 0 } });
  assertHasProblem(problems, /^flows\[0\]\.maxBytesPerSecond: must be a byte size/);
  assertHasProblem(problems, /^flows\[0\]\.transaction\.maxBytes: must be a byte size/);
  assertHasProblem(problems, /^flows\[0\]\.replicationFactor: must be -1/);
  assertHasProblem(problems, /^queue\.maxBytes: must be a byte size above 0/);
  assert.equal(problems.length, 4, problems.join('\n'));
});

test('replicationFactor is -1 or 1 to 16', () => {
  for (const factor of [-1, 1, 3, 16]) {
    assert.equal(
      parseConfig(withValue('flows[0].replicationFactor', factor)).flows[0]?.replicationFactor,
      factor,
    );
  }
  for (const factor of [0, -2, -7, 17, 1000, 2.5]) {
    assertHasProblem(
      problemsOf(withValue('flows[0].replicationFactor', factor)),
      /^flows\[0\]\.replicationFactor: must be -1 \(the target's default\) or from 1 to 16/,
    );
  }
});

test('a problem with a value from an environment variable names the variable', () => {
  const problems = problemsOf(minimal(), {
    KAFKA_MIRROR_SHUTDOWN_TIMEOUT_MS: '3000000000',
    KAFKA_MIRROR_QUEUE_MAX_BYTES: '0',
  });
  assertHasProblem(problems, /^shutdown\.timeoutMs: .* \(from KAFKA_MIRROR_SHUTDOWN_TIMEOUT_MS\)$/);
  assertHasProblem(problems, /^queue\.maxBytes: .* \(from KAFKA_MIRROR_QUEUE_MAX_BYTES\)$/);
  const fromFile = problemsOf({ ...minimal(), shutdown: { timeoutMs: 3_000_000_000 } });
  assert.doesNotMatch(fromFile.join('\n'), /from KAFKA_MIRROR/);
});

test('an unknown key suggests the key it is closest to, or where a key of that name lives', () => {
  const problems = problemsOf({
    ...minimal(),
    queue: { maxByte: '1MiB' },
    maxBytes: '1MiB',
    logs: { level: 'debug' },
    clusters: {
      us: { bootstrapServer: ['a:1'] },
      eu: { bootstrapServers: ['b:1'], SASL: { mechanism: 'plain' } },
    },
    flows: [{ source: 'us', target: 'eu', topic: { include: ['x'] }, transaction: { timeout: 1 } }],
  });
  assertHasProblem(problems, /^queue\.maxByte: unknown key; did you mean maxBytes\?$/);
  assertHasProblem(problems, /^maxBytes: unknown key; did you mean queue\.maxBytes or consumer\.maxBytes\?$/);
  assertHasProblem(problems, /^logs\.level: unknown key; did you mean log\?$/);
  assertHasProblem(problems, /^clusters\.us\.bootstrapServer: unknown key; did you mean bootstrapServers\?$/);
  assertHasProblem(problems, /^clusters\.eu\.SASL\.mechanism: unknown key; did you mean sasl\?$/);
  assertHasProblem(problems, /^flows\[0\]\.topic\.include: unknown key; did you mean topics\?$/);
  assertHasProblem(problems, /^flows\[0\]\.transaction\.timeout: unknown key; did you mean timeoutMs\?$/);
});
