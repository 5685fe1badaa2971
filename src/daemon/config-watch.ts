// `reload.watch`: reloads the config when its file changes. The directory is watched, not the
// file: a Kubernetes ConfigMap volume never writes the file it shows. `config.yaml` there is a
// symlink to `..data/config.yaml`, and an update writes a new timestamped directory, points a
// `..data_tmp` symlink at it and renames that over `..data` (atomic), then deletes the old
// directory; a watch on the file (its inode) would see none of it. Editors replace files by rename
// too. So every event in the directory starts a quiet period (debounce); after it the file is read
// through its path (symlinks followed) and only a content different from the last one seen calls
// `onChange`. A file that cannot be read counts as changed: the reload then says why it is invalid.
import { createHash } from 'node:crypto';
import { watch, type FSWatcher } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import type { Logger } from '../observability/logger.ts';

export interface ConfigWatchOptions {
  /** How long the directory must be quiet before the file is read. */
  readonly debounceMs: number;
  /** The content changed (or the file became unreadable): reload. */
  readonly onChange: () => void;
  readonly logger: Logger;
}

export class ConfigWatch {
  readonly #file: string;
  readonly #options: ConfigWatchOptions;
  #watcher: FSWatcher | undefined;
  #timer: NodeJS.Timeout | undefined;
  /** Hash of the content last seen ('' before the first read). */
  #seen = '';
  #closed = false;

  constructor(file: string, options: ConfigWatchOptions) {
    this.#file = path.resolve(file);
    this.#options = options;
  }

  /** Reads the file as it is now (the content the daemon started with), then watches its directory. */
  async start(): Promise<void> {
    this.#seen = await this.#hash();
    if (this.#closed) return;
    const directory = path.dirname(this.#file);
    this.#watcher = watch(directory, { persistent: false }, () => this.#changed());
    this.#watcher.on('error', (error) => {
      this.#options.logger.warn({ err: error, directory }, 'cannot watch the config directory any more');
      this.close();
    });
    this.#options.logger.info({ file: this.#file, directory }, 'watching the config file for changes');
  }

  /** Stops watching; a pending read does not happen. Idempotent. */
  close(): void {
    this.#closed = true;
    clearTimeout(this.#timer);
    this.#watcher?.close();
  }

  /** Nothing to drain: as close(). */
  destroy(): void {
    this.close();
  }

  #changed(): void {
    if (this.#closed) return;
    clearTimeout(this.#timer);
    this.#timer = setTimeout(() => void this.#check(), this.#options.debounceMs);
    this.#timer.unref();
  }

  async #check(): Promise<void> {
    const hash = await this.#hash();
    if (this.#closed || hash === this.#seen) return;
    this.#seen = hash;
    this.#options.logger.info({ file: this.#file }, 'config file changed: reloading');
    this.#options.onChange();
  }

  /** The content's hash, or 'unreadable: <code>' (a missing file is a change too). */
  async #hash(): Promise<string> {
    try {
      return createHash('sha256')
        .update(await readFile(this.#file))
        .digest('hex');
    } catch (error) {
      return `unreadable: ${(error as NodeJS.ErrnoException).code ?? 'error'}`;
    }
  }
}
