// deploy/kubernetes/reload.sh against a stand-in kubectl: the pods' mounted config, their metrics
// and their answer to SIGHUP are files the test controls, and every kubectl call is recorded.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { chmod, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { fileURLToPath } from 'node:url';

const SCRIPT = fileURLToPath(new URL('../../../deploy/kubernetes/reload.sh', import.meta.url));
const MOUNTED = '/etc/kafka-mirror/config/config.yaml';

/**
 * A kubectl for the script: `get pods` lists $STATE/pods; `exec <pod> -- sha256sum <file>` hashes
 * $STATE/<pod>/mounted, which becomes $STATE/<pod>/next after as many reads as $STATE/<pod>/delay
 * says (the kubelet's update); `exec <pod> -- node -e ...` prints $STATE/<pod>/metrics; `exec <pod>
 * -- sh -c 'kill -HUP 1'` counts a reload whose outcome is $STATE/<pod>/outcome (1 or 0).
 */
const FAKE_KUBECTL = `#!/bin/sh
set -eu
echo "$*" >>"$STATE/calls"
[ "$1" = --namespace ] && shift 2
case "$1" in
  get) cat "$STATE/pods" ;;
  exec)
    pod=$(echo "$2" | sed 's#^pod/##'); dir="$STATE/$pod"; shift 3
    case "$1" in
      sha256sum)
        [ "$2" = "${MOUNTED}" ] || { echo "no such file $2" >&2; exit 1; }
        delay=$(cat "$dir/delay")
        if [ "$delay" -gt 0 ]; then echo $((delay - 1)) >"$dir/delay"; else cp "$dir/next" "$dir/mounted"; fi
        sha256sum "$dir/mounted" ;;
      node) cat "$dir/metrics" ;;
      sh)
        [ "$3" = 'kill -HUP 1' ] || exit 1
        reloads=$(cat "$dir/reloads"); reloads=$((reloads + 1)); echo "$reloads" >"$dir/reloads"
        {
          echo '# HELP kafka_mirror_config_reloads_total Config reloads.'
          echo "kafka_mirror_config_reloads_total{result=\\"applied\\"} $reloads"
          echo "kafka_mirror_config_last_reload_successful $(cat "$dir/outcome")"
        } >"$dir/metrics" ;;
      *) exit 1 ;;
    esac ;;
  *) exit 1 ;;
esac
`;

interface Pod {
  name: string;
  /** Reads of the mounted file before it shows the new config. */
  delay: number;
  /** What the daemon's reload ends with: 1 applied, 0 refused. */
  outcome: 0 | 1;
}

async function setUp(t: TestContext, pods: Pod[]) {
  const state = await mkdtemp(join(tmpdir(), 'kafka-mirror-reload-'));
  t.after(() => rm(state, { recursive: true, force: true }));
  const config = join(state, 'config.yaml');
  await writeFile(config, 'flows: [new]\n');
  await writeFile(join(state, 'pods'), pods.map((p) => `pod/${p.name}\n`).join(''));
  for (const pod of pods) {
    const dir = join(state, pod.name);
    await mkdir(dir);
    await writeFile(join(dir, 'mounted'), 'flows: [old]\n');
    await writeFile(join(dir, 'next'), 'flows: [new]\n');
    await writeFile(join(dir, 'delay'), String(pod.delay));
    await writeFile(join(dir, 'outcome'), String(pod.outcome));
    await writeFile(join(dir, 'reloads'), '0');
    // Before any reload the counter has no sample, as prom-client shows a labelled counter.
    await writeFile(join(dir, 'metrics'), 'kafka_mirror_config_last_reload_successful 1\n');
  }
  const kubectl = join(state, 'kubectl');
  await writeFile(kubectl, FAKE_KUBECTL);
  await chmod(kubectl, 0o755);
  return { state, config, kubectl };
}

async function run(env: Record<string, string>, config: string) {
  return new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
    execFile(
      'sh',
      [SCRIPT, config],
      { env: { PATH: process.env['PATH'] ?? '', POLL_SECONDS: '0', ...env } },
      (error, stdout, stderr) => resolve({ code: error === null ? 0 : Number(error.code), stdout, stderr }),
    );
  });
}

const calls = async (state: string) => (await readFile(join(state, 'calls'), 'utf8')).trim().split('\n');

test('each pod is sent SIGHUP only once its mounted file is the new config, and its reload is checked', async (t) => {
  const { state, config, kubectl } = await setUp(t, [
    { name: 'a', delay: 2, outcome: 1 },
    { name: 'b', delay: 0, outcome: 1 },
  ]);
  const result = await run({ STATE: state, KUBECTL: kubectl, NAMESPACE: 'mirror' }, config);
  assert.equal(result.stderr, '');
  assert.equal(result.code, 0);
  assert.equal(result.stdout, 'pod/a: reloaded\npod/b: reloaded\n');
  const log = await calls(state);
  assert.ok(
    log.every((call) => call.startsWith('--namespace mirror ')),
    'every call in the namespace',
  );
  const sha = (pod: string) => `--namespace mirror exec pod/${pod} -- sha256sum ${MOUNTED}`;
  const hup = (pod: string) => log.indexOf(`--namespace mirror exec pod/${pod} -- sh -c kill -HUP 1`);
  assert.equal(log.filter((call) => call === sha('a')).length, 3, 'pod a read until its file updated');
  assert.ok(hup('a') > log.lastIndexOf(sha('a')), 'pod a is signalled after its file is new');
  assert.ok(hup('b') > log.lastIndexOf(sha('b')) && hup('b') > hup('a'), 'then pod b');
  assert.equal(log.filter((call) => call.includes('kill -HUP')).length, 2, 'one signal per pod');
});

test('a refused reload stops the script with the pod named; the pods after it are not signalled', async (t) => {
  const { state, config, kubectl } = await setUp(t, [
    { name: 'a', delay: 0, outcome: 0 },
    { name: 'b', delay: 0, outcome: 1 },
  ]);
  const result = await run({ STATE: state, KUBECTL: kubectl }, config);
  assert.equal(result.code, 1);
  assert.match(result.stderr, /^pod\/a: the reload did not succeed \(invalid, or a step failed\)/);
  assert.equal(result.stdout, '');
  assert.ok(!(await calls(state)).some((call) => call.includes('pod/b -- sh')), 'pod b untouched');
});

test('a mounted file that never becomes the new config is not reloaded', async (t) => {
  const { state, config, kubectl } = await setUp(t, [{ name: 'a', delay: 100, outcome: 1 }]);
  const result = await run({ STATE: state, KUBECTL: kubectl, TRIES: '3' }, config);
  assert.equal(result.code, 1);
  assert.match(result.stderr, /^pod\/a: .* is not .* yet; was the ConfigMap applied\? Not reloaded\./);
  const log = await calls(state);
  assert.equal(log.filter((call) => call.includes('sha256sum')).length, 3, 'TRIES reads');
  assert.ok(!log.some((call) => call.includes('kill')), 'no signal');
});

test('no running pod, or no readable config: exit non-zero before any signal', async (t) => {
  const { state, config, kubectl } = await setUp(t, []);
  const none = await run({ STATE: state, KUBECTL: kubectl }, config);
  assert.equal(none.code, 1);
  assert.match(none.stderr, /no running pod matches app\.kubernetes\.io\/name=kafka-mirror/);
  const missing = await run({ STATE: state, KUBECTL: kubectl }, join(state, 'nope.yaml'));
  assert.equal(missing.code, 2);
  assert.match(missing.stderr, /cannot read/);
});
