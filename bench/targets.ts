// Where each target of issue 24 stands in a run: latest.json's `targets` and latest.md's table.
// Issue 24's targets replace issue 8's (each of those is either met by a stricter one here or was
// reset: steady-50pct's p99 <= 100 ms became steady-25pct's ratios to the ceiling and mm2-tuned).
// A target whose systems did not run (or whose figure is missing) is "not measured", never met.
import { MB, cell, find, ratio, times, type ScenarioResult } from './results.ts';
import { SCENARIO_NAMES, type ScenarioName, type SystemName } from './scenarios.ts';

export type TargetStatus = 'met' | 'not met' | 'not measured';

export interface TargetResult {
  /** What is aimed at, e.g. `backlog-1k: kafka-mirror ≥ 1.0x mm2-tuned (records/s)`. */
  readonly target: string;
  readonly scenario: ScenarioName;
  /** The figure held against `limit` (a ratio, MiB or a count); null when not measured. */
  readonly value: number | null;
  readonly limit: number;
  /** The value and what it is made of, as latest.md shows it. */
  readonly detail: string;
  readonly status: TargetStatus;
}

/** Peak RSS limit: the default queue byte budget (64 MiB) plus 150 MB. */
export const RSS_LIMIT_MB = 64 + 150e6 / MB;

/** Scenarios held to >= 1.0x mm2-tuned and >= 0.9x ceiling-produce. */
const AT_LEAST_ONCE: readonly ScenarioName[] = ['backlog-1k', 'small-100b', 'large-64k', 'wan-100ms'];
/** Scenarios where kafka-mirror should never send a produce request twice. */
const BACKLOG: readonly ScenarioName[] = ['backlog-1k', 'backlog-1k-eos', 'small-100b', 'large-64k'];
/** Scenarios mm2-tuned runs in, for the copy-CPU target. */
const WITH_MM2_TUNED = SCENARIO_NAMES.filter((name) => !name.endsWith('-eos'));

function judge(
  scenario: ScenarioName,
  target: string,
  value: number | null,
  limit: number,
  atMost: boolean,
  detail: string,
): TargetResult {
  const status: TargetStatus =
    value === null ? 'not measured' : (atMost ? value <= limit : value >= limit) ? 'met' : 'not met';
  return {
    target,
    scenario,
    value: value === null ? null : Number(value.toFixed(3)),
    limit: Number(limit.toFixed(3)),
    detail: value === null ? '–' : detail,
    status,
  };
}

/** kafka-mirror's records/s >= `limit` x `other`'s. */
function faster(rows: readonly ScenarioResult[], scenario: ScenarioName, other: SystemName, limit: number) {
  const km = find(rows, scenario, 'kafka-mirror');
  const them = find(rows, scenario, other);
  return judge(
    scenario,
    `${scenario}: kafka-mirror ≥ ${limit.toFixed(1)}x ${other} (records/s)`,
    ratio(km, them),
    limit,
    false,
    `${times(ratio(km, them))} (${cell(km?.recordsPerSec)} / ${cell(them?.recordsPerSec)})`,
  );
}

/** kafka-mirror's `field` <= `limit` x `other`'s (lower is better). */
function lower(
  rows: readonly ScenarioResult[],
  scenario: ScenarioName,
  other: SystemName,
  limit: number,
  field: 'p99Ms' | 'copyCpuSecondsPerGiB',
) {
  const a = find(rows, scenario, 'kafka-mirror')?.[field] ?? null;
  const b = find(rows, scenario, other)?.[field] ?? null;
  const value = a === null || b === null || b === 0 ? null : a / b;
  const [what, unit] = field === 'p99Ms' ? ['p99 latency', ' ms'] : ['copy CPU s per GiB', ' s/GiB'];
  return judge(
    scenario,
    `${scenario}: kafka-mirror's ${what} ≤ ${limit}x ${other}'s`,
    value,
    limit,
    true,
    `${times(value)} (${cell(a)} / ${cell(b, unit)})`,
  );
}

/** Every target of issue 24, in the order, for the scenarios of SCENARIO_NAMES whether they ran or not. */
export function targets(rows: readonly ScenarioResult[]): TargetResult[] {
  const km = (scenario: ScenarioName) => find(rows, scenario, 'kafka-mirror');
  return [
    ...AT_LEAST_ONCE.flatMap((s) => [
      faster(rows, s, 'mm2-tuned', 1.0),
      faster(rows, s, 'ceiling-produce', 0.9),
    ]),
    faster(rows, 'wan-100ms-eos', 'mm2-eos', 3),
    faster(rows, 'backlog-1k-eos', 'mm2-eos', 1.5),
    lower(rows, 'steady-25pct', 'ceiling-produce', 1.5, 'p99Ms'),
    lower(rows, 'steady-25pct', 'mm2-tuned', 0.2, 'p99Ms'),
    ...WITH_MM2_TUNED.map((s) => lower(rows, s, 'mm2-tuned', 0.5, 'copyCpuSecondsPerGiB')),
    // The highest peak of any run: one run over the limit is a miss.
    ...SCENARIO_NAMES.map((s) => {
      const peak = km(s)?.maxRssMbMax ?? null;
      return judge(
        s,
        `${s}: kafka-mirror's peak RSS ≤ queue budget + 150 MB = ${Math.round(RSS_LIMIT_MB)} MiB (highest run)`,
        peak,
        RSS_LIMIT_MB,
        true,
        cell(peak, ' MiB'),
      );
    }),
    // The most in any run: a median of 0 could hide a run that resent.
    ...BACKLOG.map((s) => {
      const most = km(s)?.resendsMax ?? null;
      return judge(
        s,
        `${s}: kafka-mirror resends 0 produce requests (most in one run)`,
        most,
        0,
        true,
        `${cell(most)} (median ${cell(km(s)?.resends)})`,
      );
    }),
  ];
}
