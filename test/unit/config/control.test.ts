import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { configWarnings, parseConfig, tokenDigest } from '../../../src/config/index.ts';
import { ConfigError } from '../../../src/errors/index.ts';

const TOKEN = 'a-control-token-of-32-characters';

function document(control: unknown): Record<string, unknown> {
  return {
    clusters: { us: { bootstrapServers: ['us:9092'] }, eu: { bootstrapServers: ['eu:9092'] } },
    flows: [{ source: 'us', target: 'eu' }],
    admin: { control },
  };
}

function problemsOf(doc: unknown, env: NodeJS.ProcessEnv = {}): string[] {
  try {
    parseConfig(doc, 'test.yaml', env);
  } catch (error) {
    assert.ok(error instanceof ConfigError);
    return [...error.problems];
  }
  return assert.fail('accepted');
}

test('admin.control is off by default, with no token', () => {
  const config = parseConfig(document({}));
  assert.deepEqual(config.admin.control, { enabled: false, tokens: [] });
});

test('tokens are read from a file and from the environment, trimmed, kept only as digests', () => {
  const dir = mkdtempSync(join(tmpdir(), 'km-control-'));
  const file = join(dir, 'token');
  writeFileSync(file, `  ${TOKEN}\n`);
  const config = parseConfig(
    document({
      enabled: true,
      tokens: [
        { name: 'ops', file },
        { name: 'ci', env: 'CI_TOKEN' },
      ],
    }),
    'test.yaml',
    { CI_TOKEN: `${TOKEN}-ci\n` },
  );
  assert.deepEqual(config.admin.control, {
    enabled: true,
    tokens: [
      { name: 'ops', digest: tokenDigest(TOKEN) },
      { name: 'ci', digest: tokenDigest(`${TOKEN}-ci`), env: 'CI_TOKEN' },
    ],
  });
  assert.doesNotMatch(JSON.stringify(config), new RegExp(TOKEN));
});

test('enabling control without a token is refused, naming the key', () => {
  const problems = problemsOf(document({ enabled: true }));
  assert.ok(
    problems.some((p) => /^admin\.control\.tokens: at least one token is required/.test(p)),
    problems.join('\n'),
  );
});

test('an empty, short or unreadable token is refused without echoing it', () => {
  const short = 'short-secret';
  const problems = problemsOf(
    document({
      enabled: true,
      tokens: [
        { name: 'a', env: 'EMPTY' },
        { name: 'b', env: 'SHORT' },
        { name: 'c', file: '/nonexistent/token' },
        { name: 'd', env: 'SPACED' },
      ],
    }),
    { EMPTY: '  \n', SHORT: short, SPACED: 'a-long-enough-token with-a-space' },
  );
  assert.ok(problems.some((p) => /tokens\[0\]\.env: environment variable EMPTY is not set or empty/.test(p)));
  assert.ok(problems.some((p) => /tokens\[1\]\.env: .* shorter than 16 characters/.test(p)));
  assert.ok(problems.some((p) => /tokens\[2\]\.file: "\/nonexistent\/token": cannot read: ENOENT/.test(p)));
  assert.ok(problems.some((p) => /tokens\[3\]\.env: .* with whitespace inside/.test(p)));
  assert.ok(problems.every((p) => !p.includes(short) && !p.includes('with-a-space')));
});

test('a token entry of the wrong shape is refused', () => {
  assertProblem(
    document({ tokens: [{ name: 'x' }] }),
    /admin\.control\.tokens: \[0\]: give exactly one of file, env/,
  );
  assertProblem(
    document({ tokens: [{ name: 'x', env: 'A', file: 'b' }] }),
    /\[0\]: give exactly one of file, env/,
  );
  assertProblem(document({ tokens: [{ name: 'bad name', env: 'A' }] }), /\[0\]\.name: required/);
  assertProblem(
    document({ tokens: [{ name: 'x', env: 'A', token: 'inline' }] }),
    /\[0\]\.token: unknown key/,
  );
  assertProblem(
    document({
      tokens: [
        { name: 'x', env: 'A' },
        { name: 'x', env: 'B' },
      ],
    }),
    /tokens\[1\]\.name: "x" is used by another token/,
    { A: TOKEN, B: TOKEN },
  );
});

test('tokens can be given as a JSON list in KAFKA_MIRROR_ADMIN_CONTROL_TOKENS', () => {
  const config = parseConfig(document({}), 'test.yaml', {
    KAFKA_MIRROR_ADMIN_CONTROL_ENABLED: 'true',
    KAFKA_MIRROR_ADMIN_CONTROL_TOKENS: '[{"name":"ops","env":"OPS"}]',
    OPS: TOKEN,
  });
  assert.equal(config.admin.control.enabled, true);
  assert.equal(config.admin.control.tokens[0]?.digest, tokenDigest(TOKEN));
});

function assertProblem(doc: unknown, pattern: RegExp, env: NodeJS.ProcessEnv = {}): void {
  const problems = problemsOf(doc, env);
  assert.ok(
    problems.some((p) => pattern.test(p)),
    `no ${String(pattern)} in:\n${problems.join('\n')}`,
  );
}

test('the control token variables are no unknown KAFKA_MIRROR_* setting', () => {
  const env = { KAFKA_MIRROR_OPS_TOKEN: TOKEN, KAFKA_MIRROR_CONTROL_TOKEN: TOKEN, KAFKA_MIRROR_TYPO: '1' };
  const config = parseConfig(
    document({ enabled: true, tokens: [{ name: 'ops', env: 'KAFKA_MIRROR_OPS_TOKEN' }] }),
    'test.yaml',
    env,
  );
  const warnings = configWarnings(config, env, { heapLimitBytes: Infinity });
  assert.deepEqual(
    warnings.map((w) => /variable (\S+)/.exec(w)?.[1]),
    ['KAFKA_MIRROR_TYPO'],
  );
});
