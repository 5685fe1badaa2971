// The dependency policy (docs/operations.md, Dependencies): the SBOM of the image's production
// dependencies (scripts/sbom.ts, `npm run sbom`) and the advisory check of CI (scripts/audit.ts,
// `npm run audit:deps`) with its file of accepted advisories.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { test, type TestContext } from 'node:test';
import {
  ACCEPTED_FILE,
  MAX_ACCEPTANCE_DAYS,
  acceptanceProblems,
  advisoriesOf,
  verdict,
  type Advisory,
} from '../../scripts/audit.ts';
import {
  currentPlatform,
  installsOn,
  production,
  purlOf,
  type LockEntry,
  type Sbom,
} from '../../scripts/sbom.ts';
import { repoRoot } from '../support/kafka/paths.ts';

const pkg = JSON.parse(readFileSync(path.join(repoRoot, 'package.json'), 'utf8')) as {
  name: string;
  version: string;
  license: string;
  dependencies: Record<string, string>;
};
const lock = JSON.parse(readFileSync(path.join(repoRoot, 'package-lock.json'), 'utf8')) as {
  packages: Record<string, LockEntry & { license?: string }>;
};

async function tempDir(t: TestContext): Promise<string> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'kafka-mirror-deps-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

function script(name: string, args: string[]) {
  return spawnSync(process.execPath, [path.join(repoRoot, 'scripts', name), ...args], {
    cwd: repoRoot,
    encoding: 'utf8',
  });
}

const linuxGlibcX64 = { os: 'linux', cpu: 'x64', libc: 'glibc' };

test("npm's platform rule: os, cpu and libc lists, with negations", () => {
  assert.ok(installsOn({}, linuxGlibcX64));
  assert.ok(installsOn({ os: ['linux'], cpu: ['x64'], libc: ['glibc'] }, linuxGlibcX64));
  assert.ok(!installsOn({ os: ['linux'], cpu: ['x64'], libc: ['musl'] }, linuxGlibcX64));
  assert.ok(!installsOn({ os: ['darwin'], cpu: ['x64'] }, linuxGlibcX64));
  assert.ok(!installsOn({ os: ['linux'], cpu: ['arm64'] }, linuxGlibcX64));
  assert.ok(!installsOn({ os: ['!linux'] }, linuxGlibcX64));
  assert.ok(installsOn({ os: ['!win32'] }, linuxGlibcX64));
  assert.ok(installsOn({ os: ['darwin'], libc: ['glibc'] }, { os: 'darwin', cpu: 'arm64', libc: undefined }));
  const installed = production(
    {
      '': { version: '1.0.0' },
      'node_modules/a-linux-x64-gnu': {
        version: '1.0.0',
        optional: true,
        os: ['linux'],
        cpu: ['x64'],
        libc: ['glibc'],
      },
      'node_modules/@s/a-darwin-arm64': { version: '2.0.0', optional: true, os: ['darwin'], cpu: ['arm64'] },
      'node_modules/x/node_modules/b-win': { version: '3.0.0', optional: true, os: ['win32'] },
      'node_modules/dev-only': { version: '4.0.0', dev: true },
      'node_modules/shared': { version: '5.0.0' },
    },
    linuxGlibcX64,
  );
  assert.deepEqual([...installed.keys()], ['node_modules/a-linux-x64-gnu', 'node_modules/shared']);
  assert.equal(purlOf('@node-rs/crc32', '1.10.8'), 'pkg:npm/%40node-rs/crc32@1.10.8');
  assert.equal(purlOf('yaml', '2.9.1'), 'pkg:npm/yaml@2.9.1');
});

test('npm run sbom: CycloneDX JSON of exactly the production packages npm installs here, with versions, for this project', async (t) => {
  const out = path.join(await tempDir(t), 'sbom.cdx.json');
  const run = script('sbom.ts', ['--out', out]);
  assert.equal(run.status, 0, run.stderr);
  const sbom = JSON.parse(readFileSync(out, 'utf8')) as Sbom;
  assert.equal(sbom.bomFormat, 'CycloneDX');
  assert.match(sbom.specVersion, /^1\.\d+$/);
  const root = sbom.metadata.component;
  assert.deepEqual([root.name, root.version, root.type], [pkg.name, pkg.version, 'application']);

  // Every production package of the lockfile that npm installs on this platform, none other.
  const platform = currentPlatform();
  const expected = Object.entries(lock.packages)
    .filter(([key, entry]) => key !== '' && entry.dev !== true && installsOn(entry, platform))
    .map(
      ([key, entry]) =>
        `${key.slice(key.lastIndexOf('node_modules/') + 'node_modules/'.length)}@${entry.version}`,
    );
  const listed = sbom.components.map((c) => `${c.name}@${c.version}`);
  assert.deepEqual([...listed].sort(), [...new Set(expected)].sort());
  for (const name of Object.keys(pkg.dependencies))
    assert.ok(
      listed.some((l) => l.startsWith(`${name}@`)),
      name,
    );
  assert.ok(!listed.some((l) => l.startsWith('typescript@')), 'no development dependency');
  assert.ok(
    sbom.components.some((c) => c.name.startsWith('@node-rs/crc32-')),
    'the native build for this platform is listed',
  );
  assert.ok(
    !sbom.components.some((c) => /-(darwin|win32|android|freebsd)-/.test(c.name)),
    "other platforms' builds are not",
  );
  for (const c of sbom.components) assert.equal(c.purl, purlOf(c.name, c.version));

  // The dependency graph names only listed components, and reaches every one from the project.
  const refs = new Set([root['bom-ref'], ...sbom.components.map((c) => c['bom-ref'])]);
  const edges = new Map((sbom.dependencies ?? []).map((d) => [d.ref, d.dependsOn ?? []]));
  for (const [ref, on] of edges) for (const to of [ref, ...on]) assert.ok(refs.has(to), `${ref} -> ${to}`);
  const reached = new Set<string>();
  const walk = (ref: string): void => {
    if (reached.has(ref)) return;
    reached.add(ref);
    for (const next of edges.get(ref) ?? []) walk(next);
  };
  walk(root['bom-ref']);
  assert.deepEqual([...reached].sort(), [...refs].sort());
  // yaml: production, and used by development tools too (npm sbom --omit=dev leaves it out, npm/cli#7909).
  assert.ok(listed.includes(`yaml@${lock.packages['node_modules/yaml']?.version}`));
  for (const c of sbom.components) {
    const entry = Object.entries(lock.packages).find(
      ([key, e]) => key.endsWith(`node_modules/${c.name}`) && e.version === c.version,
    )?.[1] as { integrity?: string; license?: string } | undefined;
    assert.deepEqual(c.hashes, [
      {
        alg: 'SHA-512',
        content: Buffer.from(entry?.integrity?.slice('sha512-'.length) ?? '', 'base64').toString('hex'),
      },
    ]);
    assert.deepEqual(c.licenses, [{ license: { id: entry?.license } }], c.name);
  }
});

// An `npm audit --omit=dev --json` report in npm's format (auditReportVersion 2); the advisories
// are made up: their ids are well-formed, the packages real.
const advisory = (id: string, dependency: string, severity: string) => ({
  source: 1_100_000,
  name: dependency,
  dependency,
  title: `made-up ${severity} advisory`,
  url: `https://github.com/advisories/${id}`,
  severity,
  cwe: ['CWE-1321'],
  cvss: { score: 7.5, vectorString: 'CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:N/A:H' },
  range: '<99.0.0',
});
const report = {
  auditReportVersion: 2,
  vulnerabilities: {
    'yargs-parser': {
      name: 'yargs-parser',
      severity: 'high',
      isDirect: false,
      via: [advisory('GHSA-2222-3333-4444', 'yargs-parser', 'high')],
      effects: ['kafkajs-snappy'],
      range: '<99.0.0',
      nodes: ['node_modules/yargs-parser'],
      fixAvailable: false,
    },
    'kafkajs-snappy': {
      name: 'kafkajs-snappy',
      severity: 'high',
      isDirect: true,
      via: ['yargs-parser'],
      effects: [],
      range: '*',
      nodes: ['node_modules/kafkajs-snappy'],
      fixAvailable: false,
    },
    bintrees: {
      name: 'bintrees',
      severity: 'moderate',
      isDirect: false,
      via: [advisory('GHSA-cccc-ffff-gggg', 'bintrees', 'moderate')],
      effects: [],
      range: '<99.0.0',
      nodes: ['node_modules/bintrees'],
      fixAvailable: true,
    },
  },
  metadata: { vulnerabilities: { info: 0, low: 0, moderate: 1, high: 2, critical: 0, total: 3 } },
};
// What npm prints when the registry's bulk advisory endpoint refuses (seen on a registry mirror).
const refused = {
  message: '405 Method Not Allowed - POST https://registry.npmjs.org/-/npm/v1/security/advisories/bulk',
  method: 'POST',
  uri: 'https://registry.npmjs.org/-/npm/v1/security/advisories/bulk',
  statusCode: 405,
  body: '',
  error: { summary: '', detail: '' },
};

const today = '2026-12-01';
const acceptance = (id: string, expires = '2027-03-01') => ({
  id,
  package: 'yargs-parser',
  reason: 'only reached through kafkajs-snappy, which parses no user input with it',
  expires,
});

test("the advisories of a report, once each, with the GitHub advisory id; none from npm's error output", () => {
  const found = advisoriesOf(report) as Advisory[];
  assert.deepEqual(
    found.map((a) => [a.id, a.package, a.severity]),
    [
      ['GHSA-2222-3333-4444', 'yargs-parser', 'high'],
      ['GHSA-cccc-ffff-gggg', 'bintrees', 'moderate'],
    ],
  );
  assert.equal(advisoriesOf(refused), undefined);
  assert.equal(advisoriesOf({ error: { code: 'ENOAUDIT' }, vulnerabilities: {} }), undefined);
  assert.deepEqual(advisoriesOf({ auditReportVersion: 2, vulnerabilities: {} }), []);
});

test('the policy: high and critical fail unless accepted; moderate and low warn; a stale acceptance warns', () => {
  const found = advisoriesOf(report) as Advisory[];
  const none = verdict(found, []);
  assert.equal(none.failures.length, 1);
  assert.match(none.failures[0] ?? '', /^high GHSA-2222-3333-4444 in yargs-parser: /);
  assert.ok(none.warnings.some((w) => w.startsWith('moderate GHSA-cccc-ffff-gggg in bintrees')));

  const accepted = verdict(found, [acceptance('GHSA-2222-3333-4444'), acceptance('GHSA-9999-9999-9999')]);
  assert.deepEqual(accepted.failures, []);
  assert.ok(
    accepted.warnings.some((w) => w.startsWith(`accepted (${ACCEPTED_FILE}): high GHSA-2222-3333-4444`)),
  );
  assert.ok(
    accepted.warnings.includes(
      `${ACCEPTED_FILE}: GHSA-9999-9999-9999 is no longer reported: remove its entry`,
    ),
  );
  const critical = advisoriesOf({
    vulnerabilities: { x: { via: [advisory('GHSA-mmmm-pppp-qqqq', 'x', 'critical')] } },
  }) as Advisory[];
  assert.equal(verdict(critical, []).failures.length, 1);
});

test('the accepted-advisories file: an id, the package, a reason, an expiry at most 180 days ahead and not passed', () => {
  assert.deepEqual(acceptanceProblems([acceptance('GHSA-2222-3333-4444')], today), []);
  const where = `${ACCEPTED_FILE}: accepted[0]`;
  assert.deepEqual(acceptanceProblems([{ ...acceptance('CVE-2026-1234') }], today), [
    `${where} (CVE-2026-1234): "id" must be a GitHub advisory id such as GHSA-xxxx-xxxx-xxxx`,
  ]);
  assert.deepEqual(acceptanceProblems([{ ...acceptance('GHSA-2222-3333-4444'), reason: ' ' }], today), [
    `${where} (GHSA-2222-3333-4444): "reason" must be a non-empty string`,
  ]);
  assert.deepEqual(acceptanceProblems([{ id: 'GHSA-2222-3333-4444' }], today), [
    `${where} (GHSA-2222-3333-4444): "package" must be a non-empty string`,
    `${where} (GHSA-2222-3333-4444): "reason" must be a non-empty string`,
    `${where} (GHSA-2222-3333-4444): "expires" must be a date, YYYY-MM-DD`,
  ]);
  assert.deepEqual(acceptanceProblems([acceptance('GHSA-2222-3333-4444', '2026-11-30')], today), [
    `${where} (GHSA-2222-3333-4444): expired on 2026-11-30: fix the dependency or renew the acceptance`,
  ]);
  assert.equal(MAX_ACCEPTANCE_DAYS, 180);
  assert.deepEqual(acceptanceProblems([acceptance('GHSA-2222-3333-4444', '2027-05-30')], today), []);
  assert.deepEqual(acceptanceProblems([acceptance('GHSA-2222-3333-4444', '2027-05-31')], today), [
    `${where} (GHSA-2222-3333-4444): expires 2027-05-31, more than 180 days ahead (2027-05-30 at the latest)`,
  ]);
  assert.deepEqual(acceptanceProblems('nope', today), [`${ACCEPTED_FILE}: "accepted" must be a list`]);
});

test("the project's accepted-advisories file is valid today", () => {
  const file = JSON.parse(readFileSync(path.join(repoRoot, ACCEPTED_FILE), 'utf8')) as { accepted: unknown };
  assert.deepEqual(acceptanceProblems(file.accepted, new Date().toISOString().slice(0, 10)), []);
});

test('npm run audit:deps: exit 1 on an advisory that fails the policy; a refusing endpoint warns, or fails when required', async (t) => {
  const dir = await tempDir(t);
  const saved = async (name: string, content: object) => {
    const file = path.join(dir, name);
    await writeFile(file, JSON.stringify(content));
    return file;
  };
  const failing = script('audit.ts', ['--report', await saved('report.json', report)]);
  assert.equal(failing.status, 1, failing.stderr);
  assert.match(failing.stderr, /^audit: FAIL high GHSA-2222-3333-4444 in yargs-parser: /m);
  assert.match(failing.stdout, /^audit: FAIL: 2 advisories against production dependencies, 1 failing/);

  const clean = script('audit.ts', [
    '--report',
    await saved('clean.json', { auditReportVersion: 2, vulnerabilities: {} }),
  ]);
  assert.equal(clean.status, 0, clean.stderr);
  assert.match(clean.stdout, /^audit: pass: 0 advisories/);

  const unreachable = await saved('refused.json', refused);
  const warned = script('audit.ts', ['--report', unreachable]);
  assert.equal(warned.status, 0, warned.stderr);
  assert.match(
    warned.stderr,
    /^audit: WARNING: .* NOT checked for advisories \(405 Method Not Allowed - POST /,
  );
  const required = script('audit.ts', ['--report', unreachable, '--require-endpoint']);
  assert.equal(required.status, 1);
  assert.match(required.stderr, /^audit: FAIL: .* NOT checked for advisories/);
});
