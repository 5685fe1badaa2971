// Credential rotation without a restart (issue 25): the SASL password file and the TLS ca, cert and
// key files of a cluster are read again whenever they change, checked on each new connection, so
// new connections log in with the new material while open ones keep theirs until they close (a
// Kafka broker checks credentials only at authentication: a SCRAM password or trust store change
// drops no session, see docs/operations.md, Rotating credentials).
//
// No kafkajs patch is needed: kafkajs keeps the `sasl` and `ssl` objects it is given by reference.
// Its SASL authenticators read `sasl.password` at each authentication
// (kafkajs/src/broker/saslAuthenticator/scram.js, plain.js), and its socket factory copies `ssl`
// into the options of tls.connect for each connection (kafkajs/src/network/socketFactory.js,
// Object.assign, which calls getters). So both are objects whose secret fields are getters.
//
// A change is a different inode, size or modification time (a Kubernetes Secret update swaps a
// symlink: a new inode); checking costs one stat per file and new connection. The admin server's
// certificate is watched differently (admin-server.ts, watchFile every 10 s), because its server
// needs to be told (setSecureContext); here the reader asks at the moment it needs the material.
import { readFileSync, statSync } from 'node:fs';
import type { ConnectionOptions } from 'node:tls';
import type { SASLOptions } from 'kafkajs';
import { registerSecret, type ClusterConfig, type SaslConfig } from '../config/index.ts';
import type { Logger } from '../observability/logger.ts';

interface Reading {
  readonly stamp: string;
  readonly content: Buffer;
}

/**
 * One file of credential material and what was last read from it. Shared by every client of the
 * process (files are keyed by path), so a change is read and logged once, not once per client.
 */
export class CredentialFile {
  readonly path: string;
  #last: Reading | undefined;
  /** Why the last read could not be used, once warned about: a missing file warns once, not per connection. */
  #warned: string | undefined;

  constructor(path: string) {
    this.path = path;
  }

  /**
   * The content, read again when the file changed since the last call. `take` sees each new
   * content first and may refuse it (an empty password file is a rotation half done); a content
   * it refuses, or a file that cannot be read, keeps the previous one, with one warning.
   * Undefined only when nothing could ever be read.
   */
  read(logger: Logger, take: (content: Buffer) => boolean = () => true): Buffer | undefined {
    let stamp: string;
    let content: Buffer;
    try {
      const stats = statSync(this.path);
      stamp = `${stats.ino}:${stats.size}:${stats.mtimeMs}`;
      if (stamp === this.#last?.stamp) return this.#last.content;
      content = readFileSync(this.path);
    } catch (error) {
      return this.#keep(logger, (error as NodeJS.ErrnoException).code ?? 'unreadable');
    }
    if (!take(content)) return this.#keep(logger, 'empty');
    const first = this.#last === undefined;
    this.#last = { stamp, content };
    this.#warned = undefined;
    if (!first) logger.info({ file: this.path }, `re-read ${this.path} (changed)`);
    return content;
  }

  #keep(logger: Logger, why: string): Buffer | undefined {
    if (this.#warned !== why) {
      this.#warned = why;
      logger.warn(
        { file: this.path, why },
        `cannot use ${this.path} (${why}); new connections keep what was read before`,
      );
    }
    return this.#last?.content;
  }
}

const files = new Map<string, CredentialFile>();

/** The process's one CredentialFile of `path`. */
export function credentialFile(path: string): CredentialFile {
  let file = files.get(path);
  if (file === undefined) files.set(path, (file = new CredentialFile(path)));
  return file;
}

/** The password a file holds: its text without one trailing newline (as the config loader reads it). */
function passwordOf(content: Buffer): string {
  return content.toString('utf8').replace(/\r?\n$/, '');
}

/**
 * kafkajs's `sasl` for PLAIN and SCRAM. With `passwordFile`, `password` is a getter that reads the
 * file again when it changed, registered as a secret before kafkajs sees it. An inline password or
 * one from `passwordEnv` cannot change while the process runs (its environment is fixed at start).
 */
export function saslLogin(sasl: SaslConfig, logger: Logger): SASLOptions {
  const { mechanism, username } = sasl;
  if (sasl.passwordFile === undefined) return { mechanism, username, password: sasl.password } as SASLOptions;
  const file = credentialFile(sasl.passwordFile);
  const initial = sasl.password;
  return {
    mechanism,
    username,
    get password(): string {
      const content = file.read(logger, (c) => {
        // Registered before kafkajs (or a log line) can see it.
        registerSecret(passwordOf(c));
        return passwordOf(c) !== '';
      });
      return content === undefined ? initial : passwordOf(content);
    },
  } as SASLOptions;
}

/**
 * kafkajs's `ssl` (the options of tls.connect) with `ca`, `cert` and `key` as getters reading each
 * file again when it changed. The key is registered as a secret when it is read.
 */
export function tlsMaterial(tls: ClusterConfig['tls'], logger: Logger): ConnectionOptions {
  const options: ConnectionOptions = {};
  for (const name of ['ca', 'cert', 'key'] as const) {
    const path = tls[name];
    if (path === undefined) continue;
    const file = credentialFile(path);
    Object.defineProperty(options, name, {
      enumerable: true,
      get: () =>
        file.read(logger, (c) => {
          if (name === 'key') registerSecret(c.toString('utf8'));
          return c.length > 0;
        }),
    });
  }
  return options;
}
