// What a config can do but probably should not: warned about by `validate` and at start, never
// refused (issue 20).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { configWarnings, parseConfig } from '../../../src/config/index.ts';

const MiB = 2 ** 20;
const GiB = 2 ** 30;

function config(extra: Record<string, unknown> = {}) {
  return parseConfig(
    {
      clusters: {
        us: { bootstrapServers: ['us:9092'] },
        eu: {
          bootstrapServers: ['eu:9092'],
          sasl: { mechanism: 'plain', username: 'm', passwordEnv: 'KAFKA_MIRROR_EU_PASSWORD' },
        },
      },
      flows: [
        { source: 'us', target: 'eu' },
        { source: 'eu', target: 'us' },
      ],
      ...extra,
    },
    'test',
    { KAFKA_MIRROR_EU_PASSWORD: 'secret' },
  );
}

test('an unknown KAFKA_MIRROR_* variable is named, with the variable it probably meant', () => {
  const warnings = configWarnings(
    config(),
    {
      KAFKA_MIRROR_QUEUE_MAXBYTES: '1MiB',
      KAFKA_MIRROR_LOGLEVEL: 'debug',
      KAFKA_MIRROR_FROBNICATE: '1',
      KAFKA_MIRROR_LOG_LEVEL: 'debug',
      PATH: '/usr/bin',
    },
    { heapLimitBytes: 4 * GiB },
  );
  assert.deepEqual(warnings, [
    'environment variable KAFKA_MIRROR_FROBNICATE is not a kafka-mirror setting and is ignored',
    'environment variable KAFKA_MIRROR_LOGLEVEL is not a kafka-mirror setting and is ignored; did you mean KAFKA_MIRROR_LOG_LEVEL?',
    'environment variable KAFKA_MIRROR_QUEUE_MAXBYTES is not a kafka-mirror setting and is ignored; did you mean KAFKA_MIRROR_QUEUE_MAX_BYTES?',
  ]);
});

test("variables a config's passwordEnv names and the development tools' variables are not unknown", () => {
  const warnings = configWarnings(
    config(),
    {
      KAFKA_MIRROR_EU_PASSWORD: 'secret',
      KAFKA_MIRROR_TEST_BACKEND: 'jvm',
      KAFKA_MIRROR_KAFKA_VERSION: '4.1.0',
      KAFKA_MIRROR_CACHE_DIR: '/tmp/cache',
      KAFKA_MIRROR_KEEP_LOGS: 'always',
      KAFKA_MIRROR_TEST_SECRET: 'x',
    },
    { heapLimitBytes: 4 * GiB },
  );
  assert.deepEqual(warnings, []);
});

test('a heap limit below the queue budgets plus 64 MiB is warned about with the flag that fixes it', () => {
  // Two flows at the default 64 MiB budget need 2 x 64 + 64 = 192 MiB of heap.
  const [warning, ...rest] = configWarnings(config(), {}, { heapLimitBytes: 140 * MiB });
  assert.deepEqual(rest, []);
  assert.match(
    warning ?? '',
    /^the V8 heap limit \(140 MiB\) is below what the flows need \(2 flows x queue\.maxBytes 64 MiB \+ 64 MiB = 192 MiB\).*--max-old-space-size=192/,
  );
  assert.deepEqual(configWarnings(config(), {}, { heapLimitBytes: 192 * MiB }), []);
  assert.deepEqual(
    configWarnings(config({ queue: { maxBytes: '16MiB' } }), {}, { heapLimitBytes: 140 * MiB }),
    [],
  );
});
