// Errors of the /control/ endpoints of the admin server (observability/control-routes.ts, the
// daemon's actions in daemon/control.ts) and of the command-line verbs that call them. Each
// refusal carries the HTTP status it is answered with.
import { KafkaMirrorError } from './base.ts';

/** A /control/ request without a bearer token, or with one that is not configured. HTTP 401. */
export class ControlUnauthorizedError extends KafkaMirrorError {
  static readonly code = 'KM_CONTROL_UNAUTHORIZED';
  readonly status = 401;
  constructor() {
    super(
      ControlUnauthorizedError.code,
      'a bearer token of admin.control.tokens is required (Authorization: Bearer <token>)',
    );
  }
}

/** /control/ was called while admin.control.enabled is false. HTTP 403. */
export class ControlDisabledError extends KafkaMirrorError {
  static readonly code = 'KM_CONTROL_DISABLED';
  readonly status = 403;
  constructor() {
    super(
      ControlDisabledError.code,
      'control is disabled: set admin.control.enabled to true and give at least one token in admin.control.tokens, then restart',
    );
  }
}

/** A /control/ request whose method, body or parameters are wrong. HTTP 400 (405 for the method). */
export class ControlBadRequestError extends KafkaMirrorError {
  static readonly code = 'KM_CONTROL_BAD_REQUEST';
  readonly status: number;
  constructor(message: string, status = 400) {
    super(ControlBadRequestError.code, message);
    this.status = status;
  }
}

/** A /control/ path, flow or partition that is not there. HTTP 404. */
export class ControlNotFoundError extends KafkaMirrorError {
  static readonly code = 'KM_CONTROL_NOT_FOUND';
  readonly status = 404;
  constructor(what: string) {
    super(ControlNotFoundError.code, `no ${what}`);
  }
}

/** The action does not apply to the flow as it is (not running, not paused, nothing halted). HTTP 409. */
export class ControlConflictError extends KafkaMirrorError {
  static readonly code = 'KM_CONTROL_CONFLICT';
  readonly status = 409;
  constructor(message: string) {
    super(ControlConflictError.code, message);
  }
}

/** A control command (`kafka-mirror pause`, ...) got no answer from the daemon, or a refusal. Exit code 1. */
export class ControlRefusedError extends KafkaMirrorError {
  static readonly code = 'KM_CONTROL_REFUSED';
  /** The HTTP status of the refusal; undefined when the daemon did not answer. */
  readonly status: number | undefined;
  constructor(message: string, status?: number, cause?: unknown) {
    super(ControlRefusedError.code, message, { cause });
    this.status = status;
  }
}
