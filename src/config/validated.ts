// One mapping of the config validated by convict against its schema, every problem collected with
// its key path (and, for an unknown key, the key probably meant).
import convict from 'convict';
import { envName, formats } from './schema.ts';
import { closest } from './suggest.ts';

for (const format of formats) convict.addFormat(format);

/** A validated value by its key path (`tls.ca`). */
export type Getter = (key: string) => unknown;

/**
 * convict cannot read a nested key whose parent is not a mapping (`tls:` left empty is null):
 * such a value is reported under its key, never echoed (it may be a secret), and left out.
 */
export function withMappings(
  entry: unknown,
  keys: readonly string[],
  prefix: string,
  problems: string[],
): unknown {
  if (entry === null || typeof entry !== 'object' || Array.isArray(entry)) return entry;
  const copy = { ...(entry as Record<string, unknown>) };
  for (const key of keys) {
    const value = copy[key];
    if (key in copy && (value === null || typeof value !== 'object' || Array.isArray(value))) {
      problems.push(`${prefix}${key}: must be a mapping`);
      delete copy[key];
    }
  }
  return copy;
}

/** Loads `value` into a convict instance of `schema`; problems are collected with their key path. */
export function validated(
  schema: object,
  value: unknown,
  prefix: string,
  problems: string[],
  env: NodeJS.ProcessEnv = {},
): Getter {
  const config = convict(schema as convict.Schema<unknown>, { env, args: [] });
  const get: Getter = (key) => (config as unknown as { get(key: string): unknown }).get(key);
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    problems.push(`${prefix.replace(/\.$/, '')}: must be a mapping`);
    return get;
  }
  try {
    config.load(value);
    config.validate({ allowed: 'strict' });
  } catch (error) {
    for (const line of (error as Error).message.split('\n')) {
      const undeclared = /configuration param '(.+)' not declared in the schema/.exec(line);
      const overridden = /configuration param '(.+)' missing from config, did you override its parent\?/.exec(
        line,
      );
      if (undeclared?.[1] !== undefined && overridden === null) {
        // A mapping where a value belongs reports its inner keys as unknown: once is enough.
        if (
          !problems.some((p) =>
            p.startsWith(`${prefix}${undeclared[1]?.replace(/\.[^.]+$/, '')}: must be a value`),
          )
        )
          problems.push(`${prefix}${undeclared[1]}: unknown key${didYouMean(schema, undeclared[1])}`);
      } else if (overridden?.[1] !== undefined) {
        problems.push(`${prefix}${overridden[1]}: must be a value, not a mapping`);
      } else {
        const problem = line.replace(/: value was .*$/, '');
        // The environment wins over the file: a bad value of a key with a variable set came from it.
        const variable = envName(problem.split(':')[0] ?? '');
        const fromEnv = prefix === '' && env[variable] !== undefined ? ` (from ${variable})` : '';
        problems.push(`${prefix}${problem}${fromEnv}`);
      }
    }
  }
  return get;
}

const isLeaf = (node: unknown) =>
  typeof node === 'object' && node !== null && 'doc' in node && 'default' in node;

/** Paths of every key of a schema. */
function keyPaths(schema: object, prefix = ''): string[] {
  return Object.entries(schema).flatMap(([key, node]: [string, unknown]) =>
    isLeaf(node) ? [`${prefix}${key}`] : keyPaths(node as object, `${prefix}${key}.`),
  );
}

/**
 * "; did you mean X?" for an unknown key path of a schema: the closest key beside the first
 * unknown part, or else where keys of that exact name live (`maxBytes` at the top level).
 */
function didYouMean(schema: object, path: string): string {
  let node = schema as Record<string, unknown>;
  for (const part of path.split('.')) {
    const inner = node[part];
    if (inner === undefined) {
      const sibling = closest(part, Object.keys(node));
      if (sibling !== undefined) return `; did you mean ${sibling}?`;
      const elsewhere = keyPaths(schema).filter((p) => p.split('.').at(-1) === part);
      return elsewhere.length > 0 ? `; did you mean ${elsewhere.slice(0, 3).join(' or ')}?` : '';
    }
    if (isLeaf(inner)) return '';
    node = inner as Record<string, unknown>;
  }
  return '';
}
