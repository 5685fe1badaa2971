// `npm run sbom`: the SBOM (CycloneDX 1.5 JSON) of the production dependencies that the container
// image holds, written to dist/sbom.cdx.json (or --out). The Dockerfile runs it in its `deps`
// stage and copies the result into the image as /app/sbom.cdx.json (docs/operations.md,
// Dependencies).
//
// Built from package-lock.json alone, which is what `npm ci --omit=dev` installs from: every
// package npm did not flag `dev` (npm computed the flags: a package that a production and a
// development dependency share is production), with its version, purl, sha512 (the lockfile's
// integrity) and license, and the dependency graph. Not `npm sbom --omit=dev`: it leaves out
// production packages that a development dependency also uses (npm/cli#7909; here yaml, split2
// and more), and in a tree without the development dependencies it refuses to run.
//
// The lockfile lists the platform-specific optional packages of every platform (the native builds
// of @node-rs/crc32), of which npm installs only those matching the platform: packages whose
// os/cpu/libc do not match this platform (the image's, in the Docker build) are left out, as
// npm's install leaves them out.
import { randomUUID } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';

/** An entry of package-lock.json's `packages`. */
export interface LockEntry {
  readonly name?: string;
  readonly version?: string;
  readonly integrity?: string;
  readonly license?: string;
  readonly dev?: boolean;
  readonly optional?: boolean;
  readonly os?: readonly string[];
  readonly cpu?: readonly string[];
  readonly libc?: readonly string[];
  readonly dependencies?: Record<string, string>;
  readonly optionalDependencies?: Record<string, string>;
  readonly peerDependencies?: Record<string, string>;
}

export interface Platform {
  readonly os: string;
  readonly cpu: string;
  /** `glibc` or `musl` on Linux; undefined elsewhere. */
  readonly libc: string | undefined;
}

export interface Component {
  'bom-ref': string;
  type: 'application' | 'library';
  name: string;
  version: string;
  scope?: 'required' | 'optional';
  purl: string;
  hashes?: Array<{ alg: string; content: string }>;
  licenses?: Array<{ license: { id: string } | { name: string } } | { expression: string }>;
}

export interface Sbom {
  $schema: string;
  bomFormat: 'CycloneDX';
  specVersion: string;
  serialNumber: string;
  version: number;
  metadata: { timestamp: string; tools: { components: object[] }; component: Component };
  components: Component[];
  dependencies: Array<{ ref: string; dependsOn: string[] }>;
}

export function currentPlatform(): Platform {
  const header = (process.report.getReport() as { header?: { glibcVersionRuntime?: string } }).header;
  const libc = process.platform !== 'linux' ? undefined : header?.glibcVersionRuntime ? 'glibc' : 'musl';
  return { os: process.platform, cpu: process.arch, libc };
}

/** npm's rule (npm-install-checks checkPlatform): `!x` excludes x; a positive list must name it. */
function allows(list: readonly string[] | undefined, value: string | undefined): boolean {
  if (list === undefined || value === undefined) return true;
  if (list.includes(`!${value}`)) return false;
  const positive = list.filter((entry) => !entry.startsWith('!'));
  return positive.length === 0 || positive.includes(value) || positive.includes('any');
}

export function installsOn(entry: LockEntry, platform: Platform): boolean {
  return (
    allows(entry.os, platform.os) && allows(entry.cpu, platform.cpu) && allows(entry.libc, platform.libc)
  );
}

/** The package name of a lockfile key (`node_modules/a/node_modules/@s/b` -> `@s/b`). */
export function nameOf(key: string, entry: LockEntry): string {
  return entry.name ?? key.slice(key.lastIndexOf('node_modules/') + 'node_modules/'.length);
}

/** The production packages npm installs on `platform`: lockfile key -> entry. */
export function production(packages: Record<string, LockEntry>, platform: Platform): Map<string, LockEntry> {
  return new Map(
    Object.entries(packages).filter(
      ([key, entry]) => key !== '' && entry.dev !== true && installsOn(entry, platform),
    ),
  );
}

/** Where node finds `name` from the package at `key`: its own node_modules, then its parents'. */
function resolve(key: string, name: string, installed: Map<string, LockEntry>): string | undefined {
  for (let from = key; ;) {
    const candidate = `${from === '' ? '' : `${from}/`}node_modules/${name}`;
    if (installed.has(candidate)) return candidate;
    if (from === '') return undefined;
    const parent = from.lastIndexOf('/node_modules/');
    from = parent < 0 ? '' : from.slice(0, parent);
  }
}

export function purlOf(name: string, version: string): string {
  const [scope, bare] = name.startsWith('@') ? name.split('/') : [undefined, name];
  return `pkg:npm/${scope === undefined ? '' : `${encodeURIComponent(scope)}/`}${bare}@${version}`;
}

function licensesOf(license: string | undefined): Component['licenses'] {
  if (license === undefined) return undefined;
  if (/ (OR|AND|WITH) /.test(license)) return [{ expression: license }];
  return [{ license: /^[A-Za-z0-9.+-]+$/.test(license) ? { id: license } : { name: license } }];
}

function componentOf(name: string, entry: LockEntry, type: Component['type']): Component {
  const version = entry.version ?? '';
  const sha512 = /^sha512-(.+)$/.exec(entry.integrity ?? '')?.[1];
  return {
    'bom-ref': `${name}@${version}`,
    type,
    name,
    version,
    ...(type === 'library' ? { scope: entry.optional === true ? 'optional' : 'required' } : {}),
    purl: purlOf(name, version),
    ...(sha512 === undefined
      ? {}
      : { hashes: [{ alg: 'SHA-512', content: Buffer.from(sha512, 'base64').toString('hex') }] }),
    ...(entry.license === undefined ? {} : { licenses: licensesOf(entry.license) }),
  };
}

/** The SBOM of `lock`'s production packages on `platform`, for the project `pkg`. */
export function sbomOf(
  pkg: { name: string; version: string; license?: string },
  lock: { packages: Record<string, LockEntry> },
  platform: Platform,
): Sbom {
  const installed = production(lock.packages, platform);
  const root = componentOf(pkg.name, { ...lock.packages[''], ...pkg }, 'application');
  const components = new Map<string, Component>();
  const edges = new Map<string, Set<string>>([[root['bom-ref'], new Set()]]);
  for (const [key, entry] of [['', lock.packages[''] ?? {}] as const, ...installed]) {
    const from = key === '' ? root : componentOf(nameOf(key, entry), entry, 'library');
    if (key !== '') components.set(from['bom-ref'], from);
    const names = Object.keys({
      ...entry.dependencies,
      ...entry.optionalDependencies,
      ...entry.peerDependencies,
    });
    const targets = names.flatMap((name) => {
      const found = resolve(key, name, installed);
      return found === undefined ? [] : [`${name}@${installed.get(found)?.version ?? ''}`];
    });
    edges.set(from['bom-ref'], new Set([...(edges.get(from['bom-ref']) ?? []), ...targets]));
  }
  const byRef = (a: { 'bom-ref': string }, b: { 'bom-ref': string }) =>
    a['bom-ref'].localeCompare(b['bom-ref']);
  return {
    $schema: 'http://cyclonedx.org/schema/bom-1.5.schema.json',
    bomFormat: 'CycloneDX',
    specVersion: '1.5',
    serialNumber: `urn:uuid:${randomUUID()}`,
    version: 1,
    metadata: {
      timestamp: new Date().toISOString(),
      tools: { components: [{ type: 'application', name: 'kafka-mirror scripts/sbom.ts' }] },
      component: root,
    },
    components: [...components.values()].sort(byRef),
    dependencies: [...edges].map(([ref, on]) => ({ ref, dependsOn: [...on].sort() })),
  };
}

function main(): void {
  const { values } = parseArgs({ options: { out: { type: 'string', default: 'dist/sbom.cdx.json' } } });
  const root = process.cwd();
  const pkg = JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8')) as {
    name: string;
    version: string;
  };
  const lock = JSON.parse(readFileSync(path.join(root, 'package-lock.json'), 'utf8')) as {
    packages: Record<string, LockEntry>;
  };
  const platform = currentPlatform();
  const sbom = sbomOf(pkg, lock, platform);
  const out = path.resolve(root, values.out);
  mkdirSync(path.dirname(out), { recursive: true });
  writeFileSync(out, `${JSON.stringify(sbom, null, 2)}\n`);
  const where = `${platform.os}/${platform.cpu}${platform.libc === undefined ? '' : `/${platform.libc}`}`;
  process.stdout.write(`sbom: ${out}: ${sbom.components.length} components (production, ${where})\n`);
}

if (import.meta.main) main();
