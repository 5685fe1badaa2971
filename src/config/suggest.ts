// "Did you mean ...?" for unknown config keys and environment variables: the candidate closest to
// what was typed, if one is close enough to be what was meant.

/** Edit distance (insertions, deletions, substitutions), case-insensitive. */
function distance(a: string, b: string): number {
  const x = a.toLowerCase();
  const y = b.toLowerCase();
  let previous = Array.from({ length: y.length + 1 }, (_, j) => j);
  for (let i = 1; i <= x.length; i++) {
    const row = [i];
    for (let j = 1; j <= y.length; j++) {
      const substitution = (previous[j - 1] ?? 0) + (x[i - 1] === y[j - 1] ? 0 : 1);
      row.push(Math.min((previous[j] ?? 0) + 1, (row[j - 1] ?? 0) + 1, substitution));
    }
    previous = row;
  }
  return previous[y.length] ?? 0;
}

/**
 * The candidate `word` was probably meant to be: within a few edits (about one per three
 * characters), or one of the two a prefix of the other (`timeout` for `timeoutMs`, `sourceCluster`
 * for `source`, at least 4 characters shared). Undefined when nothing is close.
 */
export function closest(word: string, candidates: Iterable<string>): string | undefined {
  let best: { candidate: string; score: number } | undefined;
  for (const candidate of candidates) {
    if (candidate === word) continue;
    const edits = distance(word, candidate);
    const [shorter, longer] = word.length <= candidate.length ? [word, candidate] : [candidate, word];
    const prefix = shorter.length >= 4 && longer.toLowerCase().startsWith(shorter.toLowerCase());
    if (edits > Math.max(1, Math.floor(word.length / 3)) && !prefix) continue;
    const score = prefix ? Math.min(edits, 2) : edits;
    if (best === undefined || score < best.score) best = { candidate, score };
  }
  return best?.candidate;
}
