import { fileURLToPath } from 'node:url';
import path from 'node:path';

/** Repository root, and the git-ignored cache that holds Kafka jars, the Maven repo and tool binaries. */
export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
/**
 * `.cache/` in the repository, or `KAFKA_MIRROR_CACHE_DIR` (an absolute path): one cache shared by
 * several clones, or an empty one for the tests that fetch from scratch (launcher-fetch.test.ts).
 */
export const cacheDir = path.resolve(process.env['KAFKA_MIRROR_CACHE_DIR'] || path.join(repoRoot, '.cache'));
export const supportDir = path.join(repoRoot, 'test/support/kafka');
