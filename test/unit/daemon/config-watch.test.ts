// reload.watch (src/daemon/config-watch.ts) on a real directory laid out as a Kubernetes ConfigMap
// volume: `config.yaml -> ..data/config.yaml`, `..data -> ..<timestamp>`, updated by renaming a
// new `..data_tmp` symlink over `..data`. Also an editor's in-place write, a file that goes away,
// and other files of the directory (no reload when the content is the same).
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rename, rm, symlink, unlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { test, type TestContext } from 'node:test';
import { ConfigWatch } from '../../../src/daemon/config-watch.ts';
import { createLogger } from '../../../src/observability/logger.ts';

const DEBOUNCE_MS = 50;

/** A watch on `file` counting its reloads; `next()` resolves at the next one. */
async function watching(t: TestContext, file: string) {
  let reloads = 0;
  let waiting: (() => void) | undefined;
  const lines: Array<Record<string, unknown>> = [];
  const destination = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString().split('\n')) if (line !== '') lines.push(JSON.parse(line));
      done();
    },
  });
  const watch = new ConfigWatch(file, {
    debounceMs: DEBOUNCE_MS,
    logger: createLogger({ level: 'info', destination }),
    onChange: () => {
      reloads++;
      waiting?.();
    },
  });
  t.after(() => watch.close());
  await watch.start();
  return {
    watch,
    lines,
    reloads: () => reloads,
    next: () => new Promise<void>((resolve) => (waiting = resolve)),
  };
}

/** Long enough for events and the debounce to have run (only to show that nothing happened). */
const quiet = () => sleep(DEBOUNCE_MS * 10);

test('a ConfigMap update (the ..data symlink swapped) reloads once; the same content again does not', async (t) => {
  const dir = await mkdtemp(path.join(tmpdir(), 'km-watch-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const version = async (name: string, content: string) => {
    await mkdir(path.join(dir, name));
    await writeFile(path.join(dir, name, 'config.yaml'), content);
  };
  await version('..2026_01', 'log: { level: info }\n');
  await symlink('..2026_01', path.join(dir, '..data'));
  await symlink('..data/config.yaml', path.join(dir, 'config.yaml'));
  const w = await watching(t, path.join(dir, 'config.yaml'));

  // What the kubelet does: a new directory, a ..data_tmp symlink renamed over ..data, the old one removed.
  const swap = async (name: string, old: string, content: string) => {
    await version(name, content);
    await symlink(name, path.join(dir, '..data_tmp'));
    await rename(path.join(dir, '..data_tmp'), path.join(dir, '..data'));
    await rm(path.join(dir, old), { recursive: true });
  };
  const reloaded = w.next();
  await swap('..2026_02', '..2026_01', 'log: { level: debug }\n');
  await reloaded;
  assert.equal(w.reloads(), 1, 'one reload for the whole update');
  assert.ok(w.lines.some((l) => l['msg'] === 'config file changed: reloading'));

  await swap('..2026_03', '..2026_02', 'log: { level: debug }\n');
  await writeFile(path.join(dir, 'other.yaml'), 'unrelated\n');
  await quiet();
  assert.equal(w.reloads(), 1, 'same content, other files: no reload');
});

test('an in-place write and a removed file reload; after close() nothing does', async (t) => {
  const dir = await mkdtemp(path.join(tmpdir(), 'km-watch-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const file = path.join(dir, 'config.yaml');
  await writeFile(file, 'a: 1\n');
  const w = await watching(t, file);

  let reloaded = w.next();
  await writeFile(file, 'a: 2\n');
  await reloaded;
  assert.equal(w.reloads(), 1);

  reloaded = w.next();
  await unlink(file);
  await reloaded;
  assert.equal(w.reloads(), 2, 'a file gone is a change: the reload says it cannot be read');

  w.watch.close();
  w.watch.close();
  await writeFile(file, 'a: 3\n');
  await quiet();
  assert.equal(w.reloads(), 2, 'closed: no more reloads');
});
