import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import type { TestContext } from 'node:test';
import { loadConfigFile } from '../../../src/config/index.ts';
import { ConfigError } from '../../../src/errors/index.ts';

async function tempDir(t: TestContext): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'kafka-mirror-config-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

async function writeTemp(t: TestContext, name: string, text: string): Promise<string> {
  const file = join(await tempDir(t), name);
  await writeFile(file, text);
  return file;
}

async function rejection(promise: Promise<unknown>): Promise<ConfigError> {
  try {
    await promise;
  } catch (error) {
    assert.ok(error instanceof ConfigError, `expected a ConfigError, got ${String(error)}`);
    return error;
  }
  assert.fail('the file was accepted');
}

const yaml = `# two clusters, one flow
clusters:
  us:
    bootstrapServers: [us-kafka:9092]
  eu:
    bootstrapServers:
      - eu-kafka-1:9092
      - eu-kafka-2:9092
flows:
  - source: us
    target: eu
    topics:
      include: ['orders\\..*']
queue:
  maxBytes: 16MiB
`;

test('reads a YAML file', async (t) => {
  const file = await writeTemp(t, 'mirror.yaml', yaml);
  const config = await loadConfigFile(file);
  assert.deepEqual(config.clusters['eu']?.bootstrapServers, ['eu-kafka-1:9092', 'eu-kafka-2:9092']);
  assert.deepEqual(config.flows[0]?.topics.include, ['orders\\..*']);
  assert.equal(config.flows[0]?.name, 'us->eu');
  assert.equal(config.queue.maxBytes, 16 * 2 ** 20);
  assert.equal(config.log.level, 'info', 'defaults are filled in');
  assert.ok(Object.isFrozen(config.flows[0]));
});

test('reads a JSON file', async (t) => {
  const document = {
    clusters: {
      a: { bootstrapServers: ['a:9092'] },
      b: { bootstrapServers: ['b:9092'], clientId: 'mirror-b' },
    },
    flows: [{ name: 'a-to-b', source: 'a', target: 'b' }],
    producer: { compression: 'gzip' },
  };
  const file = await writeTemp(t, 'mirror.json', JSON.stringify(document, null, 2));
  const config = await loadConfigFile(file);
  assert.equal(config.clusters['b']?.clientId, 'mirror-b');
  assert.equal(config.flows[0]?.group, 'kafka-mirror.a-to-b');
  assert.equal(config.producer.compression, 'gzip');
});

test('applies environment overrides given to it', async (t) => {
  const file = await writeTemp(t, 'mirror.yaml', yaml);
  const config = await loadConfigFile(file, {
    KAFKA_MIRROR_LOG_LEVEL: 'warn',
    KAFKA_MIRROR_QUEUE_MAX_BYTES: '1MiB',
  });
  assert.equal(config.log.level, 'warn');
  assert.equal(config.queue.maxBytes, 2 ** 20);
});

test('a missing file is a ConfigError (KM_CONFIG) that names the file', async (t) => {
  const file = join(await tempDir(t), 'absent.yaml');
  const error = await rejection(loadConfigFile(file));
  assert.equal(error.code, 'KM_CONFIG');
  assert.equal(error.problems.length, 1);
  assert.match(error.problems[0] ?? '', /^cannot read the file: .*ENOENT/);
  assert.ok(error.message.includes(file), error.message);
});

test('invalid YAML is a ConfigError (KM_CONFIG) that says so', async (t) => {
  const file = await writeTemp(t, 'broken.yaml', 'clusters:\n  us: [unclosed\nflows: {\n');
  const error = await rejection(loadConfigFile(file));
  assert.equal(error.code, 'KM_CONFIG');
  assert.equal(error.problems.length, 1);
  assert.match(error.problems[0] ?? '', /^not valid YAML or JSON: /);
  assert.ok(error.message.includes(file));
});

test('invalid JSON is a ConfigError (KM_CONFIG)', async (t) => {
  const file = await writeTemp(t, 'broken.json', '{"clusters": {"us": ');
  const error = await rejection(loadConfigFile(file));
  assert.equal(error.code, 'KM_CONFIG');
  assert.match(error.problems[0] ?? '', /^not valid YAML or JSON: /);
});

test('a key given twice is rejected rather than silently overwritten', async (t) => {
  const file = await writeTemp(t, 'dup.yaml', `${yaml}queue:\n  maxBytes: 1MiB\n`);
  const error = await rejection(loadConfigFile(file));
  assert.match(error.problems[0] ?? '', /^not valid YAML or JSON: /);
});

test('an empty file reports the missing clusters and flows', async (t) => {
  const file = await writeTemp(t, 'empty.yaml', '');
  const error = await rejection(loadConfigFile(file));
  assert.deepEqual(error.problems, [
    'clusters: at least one cluster is required',
    'flows: at least one flow is required',
  ]);
});

test('validation problems in a file are reported with the file as source', async (t) => {
  const file = await writeTemp(t, 'bad.yaml', yaml.replace('target: eu', 'target: asia'));
  const error = await rejection(loadConfigFile(file));
  assert.deepEqual(error.problems, ['flows[0].target: no cluster named "asia"']);
  assert.ok(error.message.includes(file));
});

test('a YAML document that is a list is rejected', async (t) => {
  const file = await writeTemp(t, 'list.yaml', '- clusters\n- flows\n');
  const error = await rejection(loadConfigFile(file));
  assert.deepEqual(error.problems, ['the top level must be a mapping of keys (clusters, flows, ...)']);
});
