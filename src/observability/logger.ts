import { pino, type DestinationStream, type Logger } from 'pino';

export type { Logger } from 'pino';

/** Paths that may hold secrets anywhere a config or client option is logged (DESIGN.md invariant 7). */
const REDACT = [
  'password',
  '*.password',
  'sasl.password',
  '*.sasl.password',
  'config.clusters.*.sasl.password',
  'ssl.key',
  '*.ssl.key',
  'tls.key',
  '*.tls.key',
];

/**
 * JSON lines on stdout (or `destination` in tests), one logger per process; modules take a child
 * with their flow/topic/partition fields. `pretty` is for terminals (the demo), not production.
 */
export function createLogger(options: {
  level: string;
  pretty?: boolean;
  destination?: DestinationStream;
}): Logger {
  const base = {
    level: options.level,
    base: { service: 'kafka-mirror' },
    redact: { paths: REDACT, censor: '[REDACTED]' },
    timestamp: pino.stdTimeFunctions.isoTime,
  };
  if (options.destination !== undefined) return pino(base, options.destination);
  if (options.pretty === true) {
    return pino({
      ...base,
      transport: {
        target: 'pino-pretty',
        options: { translateTime: 'SYS:HH:MM:ss', ignore: 'pid,hostname,service' },
      },
    });
  }
  return pino(base);
}
