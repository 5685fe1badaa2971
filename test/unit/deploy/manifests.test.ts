// The Kubernetes manifests and the compose file agree with the code: the admin port and the paths
// it serves, where the image reads its config, the drain timeout, the heap the queue budgets need,
// and every config they carry validates.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { test, type TestContext } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { parseAllDocuments } from 'yaml';
import { loadConfigFile, parseConfig, type Config } from '../../../src/config/index.ts';
import { topLevelSchema } from '../../../src/config/schema.ts';
import { ConfigError } from '../../../src/errors/index.ts';
import { AdminServer, type AdminSources, type Readiness } from '../../../src/observability/admin-server.ts';
import { createLogger } from '../../../src/observability/logger.ts';
import { DEFAULT_KAFKA_VERSION } from '../../support/kafka/jars.ts';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const K8S = join(ROOT, 'deploy/kubernetes');
const COMPOSE = join(ROOT, 'deploy/compose');
/** Where the image reads its config (the Dockerfile's comment) and where the secrets go. */
const CONFIG_PATH = '/etc/kafka-mirror/config.yaml';
/** Where the Kubernetes pods read it: a file of the ConfigMap mounted as a directory (reloadable). */
const K8S_CONFIG_DIR = '/etc/kafka-mirror/config';
const SECRETS_DIR = '/etc/kafka-mirror/secrets';
const ADMIN_PORT = topLevelSchema.admin.port.default;
const MiB = 2 ** 20;

const read = (path: string) => readFileSync(path, 'utf8');

/** Every document of a YAML file, as plain data; a syntax error or a duplicate key fails. */
function documents(file: string): unknown[] {
  return parseAllDocuments(read(file), { uniqueKeys: true }).map((doc) => {
    assert.deepEqual(
      doc.errors.map((e) => e.message),
      [],
      `${file} is not valid YAML`,
    );
    return doc.toJS() as unknown;
  });
}

const yamlFiles = (dir: string) => readdirSync(dir).filter((f) => /\.ya?ml$/.test(f));

// --- the shapes read here (only the fields the checks use) ---

type Labels = Record<string, string>;
interface Meta {
  name: string;
  labels?: Labels;
}
interface Probe {
  httpGet?: { path?: string; port?: string | number };
}
interface Container {
  name: string;
  image: string;
  args?: string[];
  env?: Array<{ name: string; value?: string }>;
  ports?: Array<{ name?: string; containerPort: number }>;
  livenessProbe?: Probe;
  readinessProbe?: Probe;
  resources?: { requests?: Record<string, string>; limits?: Record<string, string> };
  securityContext?: SecurityContext;
  volumeMounts?: Array<{ name: string; mountPath: string; subPath?: string; readOnly?: boolean }>;
}
interface SecurityContext {
  runAsNonRoot?: boolean;
  runAsUser?: number;
  runAsGroup?: number;
  fsGroup?: number;
  readOnlyRootFilesystem?: boolean;
  allowPrivilegeEscalation?: boolean;
  capabilities?: { drop?: string[] };
  seccompProfile?: { type?: string };
}
interface Volume {
  name: string;
  configMap?: { name: string };
  secret?: { secretName: string; defaultMode?: number };
  emptyDir?: object;
}
interface Deployment {
  kind: 'Deployment';
  metadata: Meta;
  spec: {
    replicas: number;
    selector: { matchLabels: Labels };
    template: {
      metadata: { labels: Labels };
      spec: {
        terminationGracePeriodSeconds?: number;
        enableServiceLinks?: boolean;
        automountServiceAccountToken?: boolean;
        securityContext?: SecurityContext;
        containers: Container[];
        volumes?: Volume[];
      };
    };
  };
}
interface Service {
  kind: 'Service';
  metadata: Meta;
  spec: { selector: Labels; ports: Array<{ name?: string; port: number; targetPort?: string | number }> };
}
interface ServiceMonitor {
  kind: 'ServiceMonitor';
  metadata: Meta;
  spec: { selector: { matchLabels: Labels }; endpoints: Array<{ port?: string; path?: string }> };
}
interface Pdb {
  kind: 'PodDisruptionBudget';
  metadata: Meta;
  spec: { maxUnavailable?: number; minAvailable?: number; selector: { matchLabels: Labels } };
}
interface Secret {
  kind: 'Secret';
  metadata: Meta;
  stringData?: Record<string, string>;
  data?: Record<string, string>;
}
interface NetworkPolicy {
  kind: 'NetworkPolicy';
  metadata: Meta;
  spec: {
    podSelector: { matchLabels?: Labels };
    policyTypes?: string[];
    ingress?: Array<{
      ports?: Array<{ port?: string | number; protocol?: string }>;
      from?: Array<{ namespaceSelector?: { matchLabels?: Labels }; podSelector?: { matchLabels?: Labels } }>;
    }>;
  };
}
interface Kustomization {
  resources?: string[];
  configMapGenerator?: Array<{
    name: string;
    files?: string[];
    options?: { disableNameSuffixHash?: boolean };
  }>;
  images?: Array<{ name: string; newName?: string; newTag?: string }>;
}
interface ComposeService {
  image?: string;
  build?: { context: string; dockerfile?: string };
  command?: string[];
  environment?: Record<string, string | number>;
  volumes?: string[];
  ports?: string[];
  depends_on?: Record<string, { condition: string }>;
  healthcheck?: { test: string[] };
  stop_grace_period?: string;
  read_only?: boolean;
}

// --- the files ---

/** Kubernetes objects by file, the kustomization and the example Secret left out. */
const manifests = new Map(
  yamlFiles(K8S)
    .filter((f) => f !== 'kustomization.yaml' && f !== 'config.yaml')
    .map((f) => [f, documents(join(K8S, f)) as Array<{ apiVersion: string; kind: string; metadata: Meta }>]),
);
const objects = [...manifests.values()].flat();
function one<T>(kind: string): T {
  const found = objects.filter((o) => o.kind === kind);
  assert.equal(found.length, 1, `exactly one ${kind} in deploy/kubernetes`);
  return found[0] as T;
}
const deployment = one<Deployment>('Deployment');
const service = one<Service>('Service');
const serviceMonitor = one<ServiceMonitor>('ServiceMonitor');
const pdb = one<Pdb>('PodDisruptionBudget');
const secret = one<Secret>('Secret');
const networkPolicy = one<NetworkPolicy>('NetworkPolicy');
const kustomization = documents(join(K8S, 'kustomization.yaml'))[0] as Kustomization;
const pod = deployment.spec.template.spec;
const container =
  pod.containers.find((c) => c.name === 'kafka-mirror') ?? assert.fail('container kafka-mirror');
const compose = documents(join(COMPOSE, 'compose.yaml'))[0] as { services: Record<string, ComposeService> };
const daemon = compose.services['kafka-mirror'] ?? assert.fail('compose service kafka-mirror');

/** The config the generated ConfigMap carries (kustomization.yaml's configMapGenerator). */
function configMapFile(): { name: string; file: string } {
  const generators = kustomization.configMapGenerator ?? [];
  assert.equal(generators.length, 1, 'one configMapGenerator');
  const [generator] = generators;
  assert.deepEqual(generator?.files, ['config.yaml']);
  return { name: generator?.name ?? '', file: join(K8S, 'config.yaml') };
}

async function tempDir(t: TestContext): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'kafka-mirror-deploy-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

/** Every string in `value` that starts with `prefix`, with `prefix` replaced. */
function rebase(value: unknown, prefix: string, replacement: string): unknown {
  if (typeof value === 'string')
    return value.startsWith(prefix) ? replacement + value.slice(prefix.length) : value;
  if (Array.isArray(value)) return value.map((v) => rebase(v, prefix, replacement));
  if (value !== null && typeof value === 'object')
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, rebase(v, prefix, replacement)]));
  return value;
}

/** Every string in `value` that starts with `prefix` (the files a config names in a directory). */
function stringsUnder(value: unknown, prefix: string): string[] {
  if (typeof value === 'string') return value.startsWith(prefix) ? [value] : [];
  if (value !== null && typeof value === 'object')
    return Object.values(value).flatMap((v) => stringsUnder(v, prefix));
  return [];
}

/**
 * The Kubernetes config, validated as the pod sees it: the example Secret's files are written to a
 * temp directory that stands for the secrets mount. Returns the config and the raw document.
 */
async function kubernetesConfig(t: TestContext): Promise<{ config: Config; raw: unknown }> {
  const dir = await tempDir(t);
  for (const [key, value] of Object.entries(secret.stringData ?? {})) await writeFile(join(dir, key), value);
  const raw = documents(configMapFile().file)[0];
  const config = parseConfig(rebase(raw, SECRETS_DIR, dir), 'deploy/kubernetes/config.yaml', {});
  return { config: rebase(config, dir, SECRETS_DIR) as Config, raw };
}

/** A Kubernetes memory quantity in MiB ("320Mi", "1Gi", "268435456"). */
function mebibytes(quantity: string): number {
  const match = /^(\d+)(Mi|Gi|M|G)?$/.exec(quantity);
  if (match === null) throw new Error(`not a memory quantity this test reads: ${quantity}`);
  const factor = { Mi: 1, Gi: 1024, M: 1e6 / MiB, G: 1e9 / MiB, '': 1 / MiB }[match[2] ?? ''] ?? NaN;
  return Number(match[1]) * factor;
}

/** A compose duration in seconds ("75s", "1m30s", "2m"). */
function seconds(duration: string): number {
  const match = /^(?:(\d+)m)?(?:(\d+)s)?$/.exec(duration);
  if (match === null || duration === '') throw new Error(`not a duration this test reads: ${duration}`);
  return Number(match[1] ?? 0) * 60 + Number(match[2] ?? 0);
}

/** `--flag=N` from a NODE_OPTIONS string. */
function v8Option(options: string, flag: string): number | undefined {
  const match = new RegExp(`(?:^|\\s)--${flag}=(\\d+)(?:\\s|$)`).exec(options);
  return match === null ? undefined : Number(match[1]);
}

const subset = (selector: Labels, labels: Labels | undefined) =>
  Object.entries(selector).every(([k, v]) => labels?.[k] === v);

// --- the checks ---

test('the helpers read what they should and reject the rest', () => {
  assert.equal(mebibytes('320Mi'), 320);
  assert.equal(mebibytes('1Gi'), 1024);
  assert.throws(() => mebibytes('320 MiB'));
  assert.equal(seconds('75s'), 75);
  assert.equal(seconds('1m30s'), 90);
  assert.throws(() => seconds('soon'));
  assert.equal(v8Option('--max-semi-space-size=4 --max-old-space-size=128', 'max-old-space-size'), 128);
  assert.equal(v8Option('--max-old-space-size-x=9', 'max-old-space-size'), undefined);
  assert.deepEqual(rebase({ a: ['/s/x', '/t/s/y'] }, '/s/', '/tmp/'), { a: ['/tmp/x', '/t/s/y'] });
  assert.deepEqual(stringsUnder({ a: ['/s/x', 1], b: { c: '/t/s/y', d: '/s/z' } }, '/s/'), ['/s/x', '/s/z']);
  assert.equal(subset({ a: '1' }, { a: '1', b: '2' }), true);
  assert.equal(subset({ a: '1', c: '3' }, { a: '1' }), false);
});

test('every manifest is a Kubernetes object of a known kind and API version', () => {
  const apiVersions: Record<string, string> = {
    Deployment: 'apps/v1',
    Service: 'v1',
    ServiceMonitor: 'monitoring.coreos.com/v1',
    PodDisruptionBudget: 'policy/v1',
    Secret: 'v1',
    PrometheusRule: 'monitoring.coreos.com/v1',
    NetworkPolicy: 'networking.k8s.io/v1',
  };
  assert.ok(objects.length >= 5, `found ${objects.length} objects`);
  for (const object of objects) {
    assert.equal(object.apiVersion, apiVersions[object.kind], `${object.kind}: apiVersion`);
    assert.match(object.metadata.name, /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/, `${object.kind}: metadata.name`);
  }
  const kustomizationKind = documents(join(K8S, 'kustomization.yaml'))[0] as {
    apiVersion: string;
    kind: string;
  };
  assert.deepEqual(
    [kustomizationKind.apiVersion, kustomizationKind.kind],
    ['kustomize.config.k8s.io/v1beta1', 'Kustomization'],
  );
});

test('kustomization.yaml lists every manifest, and every file it lists exists', () => {
  const listed = kustomization.resources ?? [];
  const generated = (kustomization.configMapGenerator ?? []).flatMap((g) => g.files ?? []);
  for (const file of [...listed, ...generated]) assert.ok(existsSync(join(K8S, file)), `${file} exists`);
  // The example Secret is kept out on purpose: `kubectl apply -k` would reset the real one.
  const expected = yamlFiles(K8S).filter(
    (f) => f !== 'kustomization.yaml' && !generated.includes(f) && !f.endsWith('.example.yaml'),
  );
  assert.deepEqual([...listed].sort(), expected.sort());
  assert.ok(!listed.includes('secret.example.yaml'), 'the example Secret is not applied');
  assert.deepEqual(new Set(listed).size, listed.length, 'no file listed twice');
});

test('the image is the package version, named as kustomization.yaml rewrites it', () => {
  const { version } = JSON.parse(read(join(ROOT, 'package.json'))) as { version: string };
  const [name, tag] = container.image.split(':');
  const image = kustomization.images?.find((i) => i.name === name);
  assert.ok(image !== undefined, `kustomization images: has an entry for ${name}`);
  assert.equal(image.newTag, version);
  assert.equal(tag, version);
});

test('the admin port: container, Service and ServiceMonitor use the schema default, by name', async (t) => {
  assert.equal(ADMIN_PORT, 9464);
  const port = container.ports?.find((p) => p.name === 'admin');
  assert.equal(port?.containerPort, ADMIN_PORT, 'containerPort admin');
  const servicePort = service.spec.ports.find((p) => p.name === 'admin');
  assert.equal(servicePort?.port, ADMIN_PORT, 'Service port admin');
  assert.ok(servicePort.targetPort === 'admin' || servicePort.targetPort === ADMIN_PORT, 'targetPort');
  assert.equal(container.livenessProbe?.httpGet?.port, 'admin');
  assert.equal(container.readinessProbe?.httpGet?.port, 'admin');
  assert.deepEqual(
    serviceMonitor.spec.endpoints.map((e) => e.port),
    ['admin'],
  );
  const { config } = await kubernetesConfig(t);
  assert.equal(config.admin.port, ADMIN_PORT, 'the config does not move the port away from the manifests');
  assert.equal(config.admin.host, '0.0.0.0', 'reachable from the kubelet and Prometheus');
});

test('probe and scrape paths are what the admin server answers', async (t) => {
  const liveness = container.livenessProbe?.httpGet?.path;
  const readiness = container.readinessProbe?.httpGet?.path;
  const scrape = serviceMonitor.spec.endpoints[0]?.path;
  assert.equal(liveness, '/healthz');
  assert.equal(readiness, '/readyz');
  assert.equal(scrape, '/metrics');
  const composeProbe = /http:\/\/127\.0\.0\.1:(\d+)(\/[a-z]+)/.exec(daemon.healthcheck?.test.join(' ') ?? '');
  assert.equal(Number(composeProbe?.[1]), ADMIN_PORT, 'compose healthcheck port');
  assert.equal(composeProbe?.[2], '/readyz', 'compose healthcheck path');

  // The real server, with sources that can be made not ready.
  let state: Readiness = { ready: true, flows: {} };
  const sources: AdminSources = {
    metrics: () => Promise.resolve({ contentType: 'text/plain', body: 'kafka_mirror_info 1\n' }),
    readiness: () => state,
    status: () => ({}),
  };
  const server = new AdminServer(
    sources,
    createLogger({ level: 'silent', destination: { write: () => {} } }),
  );
  t.after(() => server.close());
  const { port } = await server.listen('127.0.0.1', 0);
  const status = async (path: string) => (await fetch(`http://127.0.0.1:${port}${path}`)).status;
  assert.equal(await status(liveness), 200);
  assert.equal(await status(readiness), 200);
  assert.equal(await status(scrape), 200);
  assert.equal(await status('/no-such-path'), 404, 'an unknown path would not pass');
  state = { ready: false, flows: { 'us->asia': ['starting'] } };
  assert.equal(await status(readiness), 503, 'the readiness probe follows readiness');
  assert.equal(await status(liveness), 200, 'the liveness probe does not: a remote outage is no restart');
});

test('the pods read the config from the ConfigMap mounted as a directory, so a change reaches them without a restart', () => {
  const path = `${K8S_CONFIG_DIR}/config.yaml`;
  assert.deepEqual(container.args, ['start', '--config', path]);
  const mount = container.volumeMounts?.find((m) => m.mountPath === K8S_CONFIG_DIR);
  assert.ok(mount !== undefined, `a volume mounted at ${K8S_CONFIG_DIR}`);
  assert.equal(mount.readOnly, true);
  // The kubelet never updates a subPath mount: a reload would re-read the first version forever.
  assert.equal(mount.subPath, undefined, 'the whole ConfigMap, not a subPath');
  const volume = pod.volumes?.find((v) => v.name === mount.name);
  const { name } = configMapFile();
  assert.equal(volume?.configMap?.name, name, 'the mount is the generated ConfigMap');
  // A hashed name would change the Deployment with every edit: a rollout instead of a reload.
  assert.equal(kustomization.configMapGenerator?.[0]?.options?.disableNameSuffixHash, true);
  assert.ok(read(join(ROOT, 'deploy/README.md')).includes(path), 'deploy/README.md documents it');
  const script = read(join(K8S, 'reload.sh'));
  assert.ok(script.includes(`CONFIG_PATH:-${path}`), 'reload.sh reads the same file');
  assert.ok(
    script.includes(`app.kubernetes.io/name=kafka-mirror`),
    'reload.sh finds the pods by their label',
  );
  assert.ok(subset({ 'app.kubernetes.io/name': 'kafka-mirror' }, deployment.spec.template.metadata.labels));
});

test('the image reads its config where the Dockerfile and README say', () => {
  assert.ok(read(join(ROOT, 'Dockerfile')).includes(CONFIG_PATH), 'the Dockerfile documents the path');
  assert.ok(read(join(ROOT, 'deploy/README.md')).includes(CONFIG_PATH), 'deploy/README.md documents it');
  assert.match(
    read(join(ROOT, 'Dockerfile')),
    /^ENTRYPOINT \["node", ("--[a-z-]+=\d+", )*"bin\/kafka-mirror\.js"\]$/m,
  );
  assert.match(
    read(join(ROOT, 'Dockerfile')),
    new RegExp(`^CMD \\["start", "--config", "${CONFIG_PATH}"\\]$`, 'm'),
  );
});

test('the Kubernetes config validates with the example Secret as its files, and holds no secret', async (t) => {
  const { config, raw } = await kubernetesConfig(t);
  assert.ok(config.flows.length > 0);
  const mount = container.volumeMounts?.find((m) => m.mountPath === SECRETS_DIR);
  assert.ok(mount !== undefined, `secrets mounted at ${SECRETS_DIR}`);
  const volume = pod.volumes?.find((v) => v.name === mount.name);
  assert.equal(volume?.secret?.secretName, secret.metadata.name, 'the mount is the example Secret');
  const files = stringsUnder(raw, `${SECRETS_DIR}/`);
  assert.ok(files.length >= 4, `the config takes its passwords and CAs from the Secret: ${files.join(', ')}`);
  const keys = Object.keys(secret.stringData ?? {});
  for (const file of files)
    assert.ok(keys.includes(file.slice(SECRETS_DIR.length + 1)), `${file} is a Secret key`);
  for (const cluster of Object.values(config.clusters)) {
    assert.ok(cluster.sasl !== undefined && cluster.tls.ca !== undefined, `${cluster.alias}: SASL over TLS`);
  }
  assert.doesNotMatch(read(configMapFile().file), /^\s*password:/m, 'no inline password');
  for (const value of Object.values(secret.stringData ?? {}))
    assert.match(value, /EXAMPLE/, 'the example Secret holds placeholders only');
});

test('the grace period outlasts the drain (shutdown.timeoutMs)', async (t) => {
  const { config } = await kubernetesConfig(t);
  const grace = pod.terminationGracePeriodSeconds ?? 30;
  assert.ok(
    grace * 1000 > config.shutdown.timeoutMs,
    `terminationGracePeriodSeconds ${grace} s, drain ${config.shutdown.timeoutMs} ms`,
  );
});

test('the heap fits the queue budgets and the memory limit fits the heap', async (t) => {
  const { config } = await kubernetesConfig(t);
  const { config: packageConfig } = JSON.parse(read(join(ROOT, 'package.json'))) as {
    config: { nodeOptions: string };
  };
  // The Deployment may set NODE_OPTIONS; without it the image's (package.json's) apply.
  const options = container.env?.find((e) => e.name === 'NODE_OPTIONS')?.value ?? packageConfig.nodeOptions;
  const oldSpace = v8Option(options, 'max-old-space-size');
  assert.ok(oldSpace !== undefined, `--max-old-space-size in ${options}`);
  // docs/operations.md, Memory: old space = the sum of the flows' queue budgets + 64 MiB.
  const budgets = (config.flows.length * config.queue.maxBytes) / MiB;
  assert.ok(oldSpace >= budgets + 64, `old space ${oldSpace} MiB < budgets ${budgets} + 64 MiB`);
  // Measured peak RSS was the heap limit + about 105 MiB (node binary, runtime, fetch buffers).
  const limit = mebibytes(container.resources?.limits?.['memory'] ?? '0');
  const request = mebibytes(container.resources?.requests?.['memory'] ?? '0');
  assert.ok(limit >= oldSpace + 128, `memory limit ${limit} Mi < heap ${oldSpace} Mi + 128 Mi`);
  assert.ok(request > 0 && request <= limit, `memory request ${request} Mi`);
  assert.ok(container.resources?.requests?.['cpu'] !== undefined, 'a CPU request');
});

test('the pod runs unprivileged, read-only and without service links', () => {
  const podContext = pod.securityContext ?? {};
  const effective = { ...podContext, ...container.securityContext };
  assert.equal(effective.runAsNonRoot, true);
  assert.equal(effective.runAsUser, 1000, 'user node of the image');
  // The image's USER, uid:gid (numeric, so the runtime can check runAsNonRoot).
  const user = /^USER (\d+):(\d+)$/m.exec(read(join(ROOT, 'Dockerfile')));
  assert.deepEqual([Number(user?.[1]), Number(user?.[2])], [effective.runAsUser, effective.runAsGroup]);
  assert.equal(effective.readOnlyRootFilesystem, true);
  assert.equal(effective.allowPrivilegeEscalation, false);
  assert.deepEqual(effective.capabilities?.drop, ['ALL']);
  assert.equal(effective.seccompProfile?.type, 'RuntimeDefault');
  assert.equal(pod.automountServiceAccountToken, false);
  const tmp = container.volumeMounts?.find((m) => m.mountPath === '/tmp');
  assert.ok(tmp !== undefined && pod.volumes?.find((v) => v.name === tmp.name)?.emptyDir !== undefined);
  // Secret files are root-owned; with defaultMode 0440 only their group (the fsGroup) reads them.
  const secretVolume = pod.volumes?.find((v) => v.secret !== undefined);
  const mode = secretVolume?.secret?.defaultMode ?? 0o644;
  assert.ok((mode & 0o004) !== 0 || ((mode & 0o040) !== 0 && podContext.fsGroup === effective.runAsGroup));
  // A Service named kafka-mirror-admin would inject KAFKA_MIRROR_ADMIN_PORT=tcp://...:9464, which
  // the config reads as admin.port: the daemon would refuse to start.
  assert.equal(pod.enableServiceLinks, false);
  assert.throws(
    () =>
      parseConfig(
        {
          clusters: { a: { bootstrapServers: ['a:1'] }, b: { bootstrapServers: ['b:1'] } },
          flows: [{ source: 'a', target: 'b' }],
        },
        'x',
        { KAFKA_MIRROR_ADMIN_PORT: 'tcp://10.0.0.1:9464' },
      ),
    ConfigError,
  );
});

test('selectors match: Deployment, Service, ServiceMonitor and PodDisruptionBudget find the pods', () => {
  const podLabels = deployment.spec.template.metadata.labels;
  assert.ok(subset(deployment.spec.selector.matchLabels, podLabels), 'Deployment selector');
  assert.ok(subset(service.spec.selector, podLabels), 'Service selector');
  assert.ok(subset(pdb.spec.selector.matchLabels, podLabels), 'PodDisruptionBudget selector');
  assert.ok(
    subset(serviceMonitor.spec.selector.matchLabels, service.metadata.labels),
    'ServiceMonitor selector',
  );
  assert.equal(deployment.spec.replicas, 2, 'two instances share the flows');
  assert.equal(pdb.spec.maxUnavailable, 1);
});

test('kubectl kustomize renders the base with the generated ConfigMap', async (t) => {
  let rendered: string;
  try {
    ({ stdout: rendered } = await promisify(execFile)('kubectl', ['kustomize', K8S]));
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return t.skip('kubectl is not installed');
    throw error;
  }
  const docs = parseAllDocuments(rendered).map((d) => d.toJS() as { kind: string; metadata: Meta });
  const configMap = docs.find((d) => d.kind === 'ConfigMap') as unknown as {
    metadata: Meta;
    data: Record<string, string>;
  };
  assert.equal(configMap.metadata.name, configMapFile().name, 'no hash in the name: edits do not roll');
  assert.equal(configMap.data['config.yaml'], read(configMapFile().file));
  const rolled = docs.find((d) => d.kind === 'Deployment') as unknown as Deployment;
  assert.ok(
    rolled.spec.template.spec.volumes?.some((v) => v.configMap?.name === configMap.metadata.name),
    'the Deployment mounts the ConfigMap',
  );
  assert.deepEqual(docs.map((d) => d.kind).sort(), [
    'ConfigMap',
    'Deployment',
    'NetworkPolicy',
    'PodDisruptionBudget',
    'PrometheusRule',
    'Service',
    'ServiceMonitor',
  ]);
});

test('the NetworkPolicy lets only Prometheus reach the admin port of the pods', () => {
  assert.ok(
    subset(networkPolicy.spec.podSelector.matchLabels ?? {}, deployment.spec.template.metadata.labels),
  );
  assert.ok(Object.keys(networkPolicy.spec.podSelector.matchLabels ?? {}).length > 0, 'not every pod');
  assert.deepEqual(networkPolicy.spec.policyTypes, ['Ingress']);
  const rules = networkPolicy.spec.ingress ?? [];
  assert.equal(rules.length, 1, 'one ingress rule');
  const [rule] = rules;
  assert.deepEqual(rule?.ports, [{ port: 'admin', protocol: 'TCP' }], 'the container port named admin');
  assert.ok(container.ports?.some((p) => p.name === 'admin'));
  const from = rule?.from ?? [];
  assert.ok(from.length > 0, 'a from list: an empty one would let everyone in');
  for (const peer of from) {
    assert.equal(peer.namespaceSelector?.matchLabels?.['kubernetes.io/metadata.name'], 'monitoring');
    assert.ok(Object.keys(peer.podSelector?.matchLabels ?? {}).length > 0, 'Prometheus pods only');
  }
});

test('the control endpoints are on, with a token file from the mounted Secret', async (t) => {
  const { raw } = await kubernetesConfig(t);
  const control = (raw as { admin?: { control?: { enabled?: unknown; tokens?: unknown } } }).admin?.control;
  assert.equal(control?.enabled, true);
  const tokens = control?.tokens as Array<{ name?: string; file?: string; env?: string }>;
  assert.ok(Array.isArray(tokens) && tokens.length > 0, 'at least one token');
  for (const token of tokens) {
    assert.equal(token.env, undefined, `${token.name}: from a file of the Secret, not the environment`);
    const key = token.file?.slice(SECRETS_DIR.length + 1) ?? '';
    assert.ok(
      token.file?.startsWith(`${SECRETS_DIR}/`) && key in (secret.stringData ?? {}),
      `${token.name}: ${token.file}`,
    );
    assert.ok(
      (secret.stringData?.[key] ?? '').trim().length >= 16,
      'the placeholder is as long as a token must be',
    );
  }
});

// --- compose ---

test('compose builds the daemon from the repository Dockerfile and mounts its config where the image reads it', () => {
  assert.ok(daemon.build !== undefined, 'the daemon is built');
  assert.equal(resolve(COMPOSE, daemon.build.context), resolve(ROOT), 'build context is the repository');
  assert.ok(
    existsSync(join(resolve(COMPOSE, daemon.build.context), daemon.build.dockerfile ?? 'Dockerfile')),
  );
  assert.deepEqual(daemon.command, ['start', '--config', CONFIG_PATH]);
  const mount = daemon.volumes?.map((v) => v.split(':')).find(([, target]) => target === CONFIG_PATH);
  assert.ok(mount !== undefined, `a file mounted at ${CONFIG_PATH}`);
  assert.equal(mount[0], './config.yaml');
  assert.equal(mount[2], 'ro');
  assert.ok(
    daemon.ports?.some(
      (p) => p.endsWith(`:${ADMIN_PORT}:${ADMIN_PORT}`) || p === `${ADMIN_PORT}:${ADMIN_PORT}`,
    ),
    `port ${ADMIN_PORT} published: ${daemon.ports?.join(', ')}`,
  );
  assert.equal(daemon.read_only, true);
});

test('the compose config validates, names the compose brokers, and the grace period outlasts its drain', async () => {
  const config = await loadConfigFile(join(COMPOSE, 'config.yaml'), {});
  assert.deepEqual(
    config.flows.map((f) => [f.source, f.target]),
    [['us', 'asia']],
  );
  assert.equal(config.admin.port, ADMIN_PORT);
  assert.ok(
    seconds(daemon.stop_grace_period ?? '10s') * 1000 > config.shutdown.timeoutMs,
    'stop_grace_period',
  );
  const clusterIds = new Set<unknown>();
  for (const cluster of Object.values(config.clusters)) {
    const name = `kafka-${cluster.alias}`;
    const broker = compose.services[name];
    assert.ok(broker !== undefined, `a compose service ${name} for cluster ${cluster.alias}`);
    assert.equal(broker.image, `apache/kafka:${DEFAULT_KAFKA_VERSION}`, 'the Kafka version the tests use');
    const advertised = String(broker.environment?.['KAFKA_ADVERTISED_LISTENERS']).split(',');
    for (const server of cluster.bootstrapServers)
      assert.ok(
        advertised.some((l) => l.endsWith(`://${server}`)),
        `${name} advertises ${server}`,
      );
    assert.equal(daemon.depends_on?.[name]?.condition, 'service_healthy', `the daemon waits for ${name}`);
    clusterIds.add(broker.environment?.['CLUSTER_ID']);
  }
  // The daemon refuses two aliases that are the same cluster (ClusterIdentityError).
  assert.equal(clusterIds.size, Object.keys(config.clusters).length, 'distinct CLUSTER_IDs');
});
