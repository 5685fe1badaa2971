// Every failure the daemon reports has a class with a stable code (KM_*), a `retriable` flag and
// a `cause`. Callers branch on the code, never on the message. docs/errors.md lists every code.

export const errorCodes = ['KM_USAGE'] as const;
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
