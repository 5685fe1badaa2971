// Redaction by value (DESIGN.md invariant 7). Redaction by key (logger.ts's paths) misses shapes
// no one listed: a client's options under `err.options.sasl.password`, a bare `key`, a secret
// quoted inside an error message. So every secret the config loader reads (SASL passwords
// inline, from a file or from the environment; control tokens; TLS private keys) is registered
// here when it is read, and every output of the process passes through `redactSecrets`: log lines
// (logger.ts), the admin server's answers (admin-server.ts) and the command line's output and
// errors (cli.ts). The registry is per process and only grows: a secret replaced by a reload is
// still masked.

/** What a secret is replaced with, as the key-based redaction writes it. */
export const REDACTED = '[REDACTED]';

/**
 * Secrets shorter than this are not masked by value: masking a 3-character string would cut
 * holes in ordinary words and numbers of every log line. They are still masked by key. The
 * control tokens are at least 16 characters; use long passwords.
 */
export const MIN_MASKED_LENGTH = 6;

const registered = new Set<string>();
/** The registered forms, longest first (a secret containing another is masked whole). */
let forms: string[] = [];

/**
 * Registers a secret, and the forms it takes in output: as a JSON string escapes it (a log line,
 * /status), and for PEM text each of its lines (a key printed line by line or cut short). A value
 * that is not a string (a config mistake, reported as a problem by the loader) is ignored.
 */
export function registerSecret(value: unknown): void {
  if (typeof value !== 'string') return;
  const candidates = [value, JSON.stringify(value).slice(1, -1)];
  if (value.includes('-----BEGIN')) {
    candidates.push(...value.split(/\r?\n/).filter((line) => !line.startsWith('-----')));
  }
  let added = false;
  for (const form of candidates.map((c) => c.trim())) {
    if (form.length < MIN_MASKED_LENGTH || registered.has(form)) continue;
    registered.add(form);
    added = true;
  }
  if (added) forms = [...registered].sort((a, b) => b.length - a.length);
}

/** `text` with every registered secret replaced by REDACTED. */
export function redactSecrets(text: string): string {
  let out = text;
  for (const form of forms) if (out.includes(form)) out = out.replaceAll(form, REDACTED);
  return out;
}

/** How many secret forms are registered (the tests check the loader registers what it reads). */
export function registeredSecretForms(): number {
  return registered.size;
}
