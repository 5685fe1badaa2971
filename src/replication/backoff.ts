// The one backoff of every retry: capped exponential, with jitter unless asked for none.

/**
 * The wait before retry number `attempt` (0 for the first): `baseMs` doubled per attempt (at most
 * 2^8 times), capped at `maxMs`; with jitter, a random 50-100 % of that, so that many clients that
 * failed together do not retry together.
 */
export function backoffMs(attempt: number, baseMs: number, maxMs: number, { jitter = true } = {}): number {
  const ceiling = Math.min(maxMs, baseMs * 2 ** Math.min(attempt, 8));
  return jitter ? ceiling * (0.5 + Math.random() / 2) : ceiling;
}
