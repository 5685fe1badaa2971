// How the patches reach kafkajs 2.2.4's internals: its modules by their path under kafkajs/src,
// and the swap of what one of them exports in Node's module cache. A kafkajs module captures what
// it requires when it loads (`const x = require('...')` at its top), so a swap reaches only the
// modules that load after it: each swap names every kafkajs module that requires the one it
// replaces, and is refused once one of them has loaded (the patch would silently not apply).
// test/unit/kafka/kafkajs/internals.test.ts checks those lists against kafkajs's own requires.
import { createRequire } from 'node:module';
import { KafkaJsPatchError } from '../../errors/index.ts';

export const kafkajsRequire = createRequire(import.meta.url);

/** The file of a kafkajs module, `relative` to kafkajs/src (e.g. `consumer/batch.js`). */
export const kafkajsFile = (relative: string): string => kafkajsRequire.resolve(`kafkajs/src/${relative}`);

/** What a kafkajs module exports (`relative` to kafkajs/src), loading it if it is not yet. */
export const kafkajsModule = <T>(relative: string): T => kafkajsRequire(kafkajsFile(relative)) as T;

/** Whether a kafkajs module (`relative` to kafkajs/src) has loaded. */
export const isLoaded = (relative: string): boolean =>
  kafkajsRequire.cache[kafkajsFile(relative)] !== undefined;

/** A kafkajs module a patch swaps in the module cache, and the kafkajs modules that capture it. */
export interface ModuleSwap {
  /** The replaced module, relative to kafkajs/src. */
  readonly module: string;
  /** Every kafkajs module that requires it (most capture its exports when they load). */
  readonly capturedBy: readonly string[];
}

/** Swaps what `swap.module` exports for `exports`, before any module that captures it has loaded. */
export function replaceModule(patch: string, swap: ModuleSwap, exports: unknown): void {
  const early = swap.capturedBy.filter(isLoaded);
  if (early.length > 0)
    throw new KafkaJsPatchError(patch, `${early.join(', ')} loaded before ${swap.module} was replaced`);
  const file = kafkajsFile(swap.module);
  kafkajsRequire(file); // load it so that the cache entry exists, then swap what it exports
  const cached = kafkajsRequire.cache[file];
  if (cached === undefined) throw new KafkaJsPatchError(patch, `${file} is not in the module cache`);
  cached.exports = exports;
}
