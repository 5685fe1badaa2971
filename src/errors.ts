// Every failure the daemon reports has a class with a stable code (KM_*), a `retriable` flag and
// a `cause`. Callers branch on the code, never on the message. docs/errors.md lists every code.

export const errorCodes = ['KM_USAGE', 'KM_CONFIG'] as const;
export type ErrorCode = (typeof errorCodes)[number];

export class KafkaMirrorError extends Error {
  readonly code: ErrorCode;
  readonly retriable: boolean;

  constructor(code: ErrorCode, message: string, options: { cause?: unknown; retriable?: boolean } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.code = code;
    this.retriable = options.retriable ?? false;
  }
}

/** The command line was wrong: unknown command or flag, missing argument. Exit code 2. */
export class UsageError extends KafkaMirrorError {
  static readonly code = 'KM_USAGE';
  constructor(message: string) {
    super(UsageError.code, message);
  }
}

/** The configuration is invalid. Lists every problem, each with its key path. Exit code 2. */
export class ConfigError extends KafkaMirrorError {
  static readonly code = 'KM_CONFIG';
  readonly problems: readonly string[];
  constructor(source: string, problems: readonly string[]) {
    super(ConfigError.code, `invalid configuration (${source}):\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.problems = problems;
  }
}
