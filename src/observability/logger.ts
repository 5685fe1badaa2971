import { createRequire } from 'node:module';
import { pino, type DestinationStream, type Logger } from 'pino';
import { REDACTED, redactSecrets } from '../config/index.ts';

export type { Logger } from 'pino';

/**
 * Paths that may hold secrets anywhere a config or client option is logged (DESIGN.md invariant 7).
 * Every line is also masked by value (config/secrets.ts), which catches the shapes not listed here.
 */
const REDACT = [
  'password',
  '*.password',
  'sasl.password',
  '*.sasl.password',
  'config.clusters.*.sasl.password',
  'clientSecret',
  '*.clientSecret',
  'sasl.oauthbearer.clientSecret',
  '*.sasl.oauthbearer.clientSecret',
  'config.clusters.*.sasl.oauthbearer.clientSecret',
  'ssl.key',
  '*.ssl.key',
  'tls.key',
  '*.tls.key',
];

export const PRETTY_MISSING =
  'log.pretty is set but pino-pretty is not installed here (it is a development dependency, left out of the container image): writing JSON lines';

/**
 * Whether pino-pretty can be loaded, resolved from here as pino's transport resolves it. It is a
 * devDependency: `npm ci --omit=dev` (the container image) leaves it out, and pino would throw at
 * start.
 */
export function prettyPrinterInstalled(): boolean {
  try {
    createRequire(import.meta.url).resolve('pino-pretty');
    return true;
  } catch {
    return false;
  }
}

/**
 * JSON lines on stdout (or `destination` in tests), one logger per process; modules take a child
 * with their flow/topic/partition fields. `pretty` is for terminals (the demo), not production:
 * where pino-pretty is not installed the lines stay JSON, after one warning.
 */
export function createLogger(options: {
  level: string;
  pretty?: boolean;
  destination?: DestinationStream;
  /** Whether pino-pretty is installed (tests); prettyPrinterInstalled by default. */
  prettyPrinter?: () => boolean;
}): Logger {
  const family = new Set<WeakRef<Logger>>();
  const base = {
    level: options.level,
    // Every child logger, so that setLogLevel reaches them: a pino child keeps its own level.
    onChild: (child: Logger) => void family.add(new WeakRef(child)),
    base: { service: 'kafka-mirror' },
    redact: { paths: REDACT, censor: REDACTED },
    hooks: { streamWrite: redactSecrets },
    timestamp: pino.stdTimeFunctions.isoTime,
  };
  const wanted = options.pretty === true;
  const pretty = wanted && (options.prettyPrinter ?? prettyPrinterInstalled)();
  let logger: Logger;
  if (options.destination !== undefined) logger = pino(base, options.destination);
  else if (pretty) {
    logger = pino({
      ...base,
      transport: {
        target: 'pino-pretty',
        options: { translateTime: 'SYS:HH:MM:ss', ignore: 'pid,hostname,service' },
      },
    });
  } else logger = pino(base);
  if (wanted && !pretty) logger.warn(PRETTY_MISSING);
  FAMILIES.set(logger, family);
  return logger;
}

/** The child loggers of each logger createLogger made (weakly: a dropped child is not kept alive). */
const FAMILIES = new WeakMap<Logger, Set<WeakRef<Logger>>>();

/** The levels setLogLevel takes: pino's, and `silent`. */
export const LOG_LEVELS: readonly string[] = [...Object.keys(pino.levels.values), 'silent'];

/**
 * Sets the level of a logger made by createLogger and of every child it has (pino's children keep
 * the level they were made with). Returns the previous level. The caller checks the level against
 * LOG_LEVELS.
 */
export function setLogLevel(logger: Logger, level: string): string {
  const previous = logger.level;
  logger.level = level;
  const family = FAMILIES.get(logger);
  for (const ref of family ?? []) {
    const child = ref.deref();
    if (child === undefined) family?.delete(ref);
    else child.level = level;
  }
  return previous;
}
