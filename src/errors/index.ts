// Every failure kafka-mirror reports has a class with a stable code (KM_*), a `retriable` flag and
// a `cause`; callers branch on the code, never on the message. docs/errors.md lists every code (a
// test checks). The classes live by area; this is the one place to import them from.
export * from './base.ts';
export * from './command.ts';
export * from './source.ts';
export * from './target.ts';
export * from './exactly-once.ts';
export * from './offsets.ts';
export * from './internal.ts';
export * from './acl-sync.ts';
export * from './control.ts';
export * from './reconcile.ts';
export * from './oauth.ts';
