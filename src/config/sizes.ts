const UNITS: Record<string, number> = {
  '': 1,
  b: 1,
  kb: 1e3,
  mb: 1e6,
  gb: 1e9,
  kib: 2 ** 10,
  mib: 2 ** 20,
  gib: 2 ** 30,
};

export const SIZE_ABOVE_ZERO = 'must be a byte size above 0, such as 1048576, "64MiB" or "10MB"';

/**
 * Parses a byte size: a non-negative integer, or a string such as "64MiB", "512 KiB", "10MB".
 * Throws a plain Error otherwise, by convict's contract for a format's validator (schema.ts): the
 * message becomes a problem line of KM_CONFIG. Outside the validator it reads validated values only.
 */
export function parseSize(value: unknown): number {
  if (typeof value === 'number' && Number.isSafeInteger(value) && value >= 0) return value;
  if (typeof value === 'string') {
    const match = /^\s*(\d+(?:\.\d+)?)\s*([kmg]i?b|b)?\s*$/i.exec(value);
    const unit = UNITS[(match?.[2] ?? '').toLowerCase()];
    const bytes = match === null || unit === undefined ? NaN : Math.floor(Number(match[1]) * unit);
    if (Number.isSafeInteger(bytes)) return bytes;
  }
  throw new Error('must be a byte size such as 1048576, "64MiB" or "10MB"');
}
