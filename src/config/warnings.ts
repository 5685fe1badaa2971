// What a valid config can do but probably should not, or what around it is probably a mistake:
// `validate` prints these and the daemon logs them at start; none refuses the config.
import { CONTROL_TOKEN_VARIABLE } from './control.ts';
import { heapWarning } from './heap.ts';
import { envName, topLevelSchema } from './schema.ts';
import { closest } from './suggest.ts';
import type { Config } from './types.ts';

/**
 * KAFKA_MIRROR_* variables that are not settings but are read by the development tools (the Kafka
 * launcher of the tests, benchmarks and demo: docs/development.md); `KAFKA_MIRROR_TEST_*` too.
 */
const DEVELOPMENT_VARIABLES = new Set([
  'KAFKA_MIRROR_TEST_BACKEND',
  'KAFKA_MIRROR_KAFKA_VERSION',
  'KAFKA_MIRROR_CACHE_DIR',
  'KAFKA_MIRROR_KEEP_LOGS',
]);

function settingVariables(schema: object, prefix = ''): string[] {
  return Object.entries(schema).flatMap(([key, node]: [string, unknown]) => {
    if (key === 'clusters' || key === 'flows') return [];
    const leaf = typeof node === 'object' && node !== null && 'doc' in node && 'default' in node;
    return leaf ? [envName(`${prefix}${key}`)] : settingVariables(node as object, `${prefix}${key}.`);
  });
}

/** KAFKA_MIRROR_* variables that nothing reads: a typo silently ignored otherwise. */
function unknownVariables(config: Config, env: NodeJS.ProcessEnv): string[] {
  const settings = settingVariables(topLevelSchema);
  // A SASL password may come from a variable the config names; it is no setting but not unknown.
  const named = new Set(
    Object.values(config.clusters).flatMap((c) =>
      [c.sasl?.passwordEnv, c.sasl?.oauthbearer?.clientSecretEnv].filter((n) => n !== undefined),
    ),
  );
  // So may a control token; KAFKA_MIRROR_CONTROL_TOKEN is the control commands' token (cli/control.ts).
  for (const token of config.admin.control.tokens) if (token.env !== undefined) named.add(token.env);
  named.add(CONTROL_TOKEN_VARIABLE);
  return Object.keys(env)
    .filter(
      (name) =>
        name.startsWith('KAFKA_MIRROR_') &&
        !name.startsWith('KAFKA_MIRROR_TEST_') &&
        !settings.includes(name) &&
        !DEVELOPMENT_VARIABLES.has(name) &&
        !named.has(name),
    )
    .sort()
    .map((name) => {
      const meant = closest(name, settings);
      return `environment variable ${name} is not a kafka-mirror setting and is ignored${meant === undefined ? '' : `; did you mean ${meant}?`}`;
    });
}

/**
 * Warnings about a valid config in this environment: unknown KAFKA_MIRROR_* variables (with the
 * setting probably meant) and a V8 heap limit (`v8.getHeapStatistics().heap_size_limit` of the
 * process that will run the flows) below what the queue budgets need.
 */
export function configWarnings(
  config: Config,
  env: NodeJS.ProcessEnv,
  runtime: { heapLimitBytes: number },
): string[] {
  const heap = heapWarning(config, runtime.heapLimitBytes);
  return [...unknownVariables(config, env), ...(heap === undefined ? [] : [heap])];
}
