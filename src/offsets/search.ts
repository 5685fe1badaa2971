// Where a group continues on the target: the first target record replicated from a source offset
// at or after the group's committed one, found by galloping from a hint and bisecting on the
// km.src.offset headers (translate.ts probes the target with single-record fetches).

/** A target record found by a probe: its target offset and the source offset it carries. */
export interface Probe {
  readonly offset: number;
  readonly sourceOffset: number;
}

/**
 * The first target record (at or after a position in [start, end)) whose source offset is at or
 * after `from`, or undefined when every record there comes from before it. `probe(x)` returns the
 * first record at or after position x (undefined past the last record); `hint` is where to start
 * looking. Takes O(log distance from the hint) probes.
 */
export async function searchTarget(
  from: number,
  range: { readonly start: number; readonly end: number },
  hint: number | undefined,
  probe: (position: number) => Promise<Probe | undefined>,
): Promise<Probe | undefined> {
  const seen = new Map<number, Probe | undefined>();
  const at = async (x: number) => {
    if (!seen.has(x)) seen.set(x, await probe(x));
    return seen.get(x);
  };
  // found(x): the first record at or after x comes from `from` or later (past the end counts as found).
  const found = async (x: number) => {
    const record = await at(x);
    return record === undefined || record.sourceOffset >= from;
  };
  let lo = range.start; // every position before lo is not found
  let hi = range.end; // found(hi) holds
  if (hint !== undefined && hint > lo && hint < hi) {
    // Gallop from the hint: a target near the hint takes a handful of probes.
    if (await found(hint)) {
      hi = hint;
      for (let step = 1; hi - step >= lo; step *= 2) {
        if (!(await found(hi - step))) {
          lo = hi - step + 1;
          break;
        }
        hi -= step;
      }
    } else {
      lo = hint + 1;
      for (let step = 1; lo + step < hi; step *= 2) {
        if (await found(lo + step)) {
          hi = lo + step;
          break;
        }
        lo += step + 1;
      }
    }
  }
  while (lo < hi) {
    const mid = lo + Math.floor((hi - lo) / 2);
    if (await found(mid)) hi = mid;
    else lo = mid + 1;
  }
  return hi >= range.end ? undefined : at(hi);
}
