// The Dockerfile cannot be built here (no Docker engine), so it is linted with dockerfile-utils
// (the validator behind VS Code's Docker support) and checked against what the package declares:
// the Node version, the build command, production-only dependencies, the entry point, the memory
// settings, the admin port and the config path.
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { ValidationSeverity, validate } from 'dockerfile-utils';
import { envName, topLevelSchema } from '../../src/config/schema.ts';
import { productionEnv } from '../support/daemon.ts';
import { repoRoot } from '../support/kafka/paths.ts';

const dockerfile = readFileSync(path.join(repoRoot, 'Dockerfile'), 'utf8');
const pkg = JSON.parse(readFileSync(path.join(repoRoot, 'package.json'), 'utf8')) as {
  bin: Record<string, string>;
  files: string[];
  scripts: Record<string, string>;
  config: { nodeOptions: string };
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

test('every stage is Node.js 24, the version the project targets', () => {
  const images = all.map((stage) => args(stage, 'FROM')[0] ?? '');
  assert.ok(images.length >= 2, 'a multi-stage build');
  for (const image of images) assert.match(image, /^node:24[-.]/, image);
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
  assert.deepEqual(JSON.parse(args(final, 'ENTRYPOINT')[0] ?? '[]'), ['node', bin]);
  assert.deepEqual(JSON.parse(args(final, 'CMD')[0] ?? '[]'), [
    'start',
    '--config',
    '/etc/kafka-mirror/config.yaml',
  ]);
  const user = args(final, 'USER')[0] ?? 'root';
  assert.ok(!['root', '0'].includes(user), `runs as ${user}`);
  assert.deepEqual(args(final, 'EXPOSE'), [String(topLevelSchema.admin.port.default)]);
  const healthcheck = args(final, 'HEALTHCHECK')[0] ?? '';
  assert.match(healthcheck, /\/healthz/);
  assert.match(healthcheck, new RegExp(`${envName('admin.port')}\\b.*${topLevelSchema.admin.port.default}`));
});

test('the image runs with the memory settings the tests measure', () => {
  const env = args(final, 'ENV').join(' ');
  for (const [name, value] of Object.entries(productionEnv)) {
    assert.match(env, new RegExp(`${name}=("${value}"|${value}(\\s|$))`), `${name} in the Dockerfile`);
  }
  assert.equal(productionEnv.NODE_OPTIONS, pkg.config.nodeOptions);
});
