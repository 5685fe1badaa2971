import { fileURLToPath } from 'node:url';
import path from 'node:path';

/** Repository root, and the git-ignored cache that holds Kafka jars, the Maven repo and tool binaries. */
export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
export const cacheDir = path.join(repoRoot, '.cache');
export const supportDir = path.join(repoRoot, 'test/support/kafka');
