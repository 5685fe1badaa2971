// Runs in, medians out: bench/results/latest.json (the shape issue 8 fixes, plus a few fields
// marked extra below) and latest.md (the table, the ratios, and where each target stands).
import type { ScenarioName, SystemName } from './scenarios.ts';
import type { TargetResult } from './targets.ts';

/** One repetition of one system in one scenario. */
export interface RunResult {
  readonly scenario: ScenarioName;
  readonly system: SystemName;
  readonly repetition: number;
  readonly records: number;
  readonly bytes: number;
  /** First record on the target to the last (replicators, ceiling-produce); fetch time (ceiling-consume). */
  readonly seconds: number | null;
  /** Process start to the last record: start-up included. */
  readonly wallSeconds: number | null;
  readonly p50Ms: number | null;
  readonly p99Ms: number | null;
  readonly maxMs: number | null;
  readonly maxRssMb: number | null;
  /** From process start to the last record. */
  readonly cpuSeconds: number | null;
  /**
   * From the first record on the target to the last: the copy alone, start-up excluded. Steady
   * scenarios (replicators only): from the start of the measured load to its last record.
   */
  readonly copyCpuSeconds: number | null;
  /** Steady scenarios: share of the machine's CPU (every process) busy while the steady records were measured. */
  readonly machineBusyPct?: number | null;
  /** kafka-mirror: produce requests it sent again (kafka_mirror_produce_retries_total), by reason. */
  readonly resends?: number | null;
  readonly resendReasons?: Readonly<Record<string, number>>;
  readonly error?: string;
}

export interface ScenarioResult {
  readonly name: ScenarioName;
  readonly system: SystemName;
  readonly records: number;
  readonly bytes: number;
  readonly seconds: number | null;
  readonly recordsPerSec: number | null;
  /** Extra: the slowest and the fastest repetition's records/s. */
  readonly recordsPerSecMin: number | null;
  readonly recordsPerSecMax: number | null;
  readonly mbPerSec: number | null;
  readonly p50Ms: number | null;
  readonly p99Ms: number | null;
  readonly maxRssMb: number | null;
  /** Extra: the highest peak RSS of any repetition. */
  readonly maxRssMbMax: number | null;
  readonly cpuSeconds: number | null;
  /** Extra: CPU seconds between the first and the last record on the target (start-up excluded). */
  readonly copyCpuSeconds: number | null;
  /** Extra: copyCpuSeconds per GiB copied (value bytes, 2^30): the CPU cost of the copy, comparable across scenarios. */
  readonly copyCpuSecondsPerGiB: number | null;
  /** Extra: median wall time including process start-up. */
  readonly wallSeconds: number | null;
  /** Extra: median of each run's maximum latency (steady scenarios). */
  readonly maxMs: number | null;
  /** Extra (steady scenarios): median share of the machine's CPU, all processes, busy during measurement. */
  readonly machineBusyPct: number | null;
  /** Extra (kafka-mirror): median of the produce requests it sent again per run; target 0. */
  readonly resends: number | null;
  /** Extra (kafka-mirror): the most produce requests sent again in one run. */
  readonly resendsMax: number | null;
  /** Extra: repetitions that completed, and those that failed (with the first error). */
  readonly runs: number;
  readonly failedRuns: number;
  readonly firstError?: string;
}

export interface BenchReport {
  readonly machine: string;
  readonly kafkaVersion: string;
  readonly date: string;
  readonly scenarios: readonly ScenarioResult[];
  /** Extra: where each target of issue 24 stands in this run (targets.ts). */
  readonly targets: readonly TargetResult[];
  /** Extra: how the run was sized, so a smoke run is never mistaken for the real figures. */
  readonly run: {
    readonly scale: number;
    readonly repetitions: number;
    /** Records/s of steady-50pct. */
    readonly steadyRate: number | null;
    /** Records/s of each steady scenario that ran. */
    readonly steadyRates: Partial<Record<ScenarioName, number>>;
    readonly loadAverageAtStart: readonly number[];
    readonly durationSeconds: number;
    readonly notes: readonly string[];
  };
}

/** MB as Kafka's perf tools count them: 2^20 bytes. */
export const MB = 1024 * 1024;
export const GiB = 1024 * MB;

export function median(values: readonly number[]): number | null {
  if (values.length === 0) return null;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1
    ? (sorted[mid] as number)
    : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
}

const round = (value: number | null, digits: number): number | null =>
  value === null || !Number.isFinite(value) ? null : Number(value.toFixed(digits));

function medianOf(runs: readonly RunResult[], field: keyof RunResult): number | null {
  return median(
    runs.map((r) => r[field]).filter((v): v is number => typeof v === 'number' && Number.isFinite(v)),
  );
}

function maxOf(runs: readonly RunResult[], field: keyof RunResult): number | null {
  const values = runs
    .map((r) => r[field])
    .filter((v): v is number => typeof v === 'number' && Number.isFinite(v));
  return values.length === 0 ? null : Math.max(...values);
}

/** Medians per (scenario, system), in the order the runs were first seen. */
export function summarise(runs: readonly RunResult[]): ScenarioResult[] {
  const groups = new Map<string, RunResult[]>();
  for (const run of runs) {
    const key = `${run.scenario}\u0000${run.system}`;
    groups.set(key, [...(groups.get(key) ?? []), run]);
  }
  return [...groups.values()].map((group) => {
    const first = group[0] as RunResult;
    const ok = group.filter((r) => r.error === undefined && r.seconds !== null);
    const failed = group.filter((r) => !ok.includes(r));
    const seconds = medianOf(ok, 'seconds');
    const records = median(ok.map((r) => r.records)) ?? first.records;
    const bytes = median(ok.map((r) => r.bytes)) ?? first.bytes;
    const rates = ok.flatMap((r) => (r.seconds === null || r.seconds <= 0 ? [] : [r.records / r.seconds]));
    const copyCpuSeconds = medianOf(ok, 'copyCpuSeconds');
    return {
      name: first.scenario,
      system: first.system,
      records,
      bytes,
      seconds: round(seconds, 2),
      recordsPerSec: seconds === null || seconds <= 0 ? null : Math.round(records / seconds),
      recordsPerSecMin: rates.length === 0 ? null : Math.round(Math.min(...rates)),
      recordsPerSecMax: rates.length === 0 ? null : Math.round(Math.max(...rates)),
      mbPerSec: seconds === null || seconds <= 0 ? null : round(bytes / MB / seconds, 1),
      p50Ms: round(medianOf(ok, 'p50Ms'), 0),
      p99Ms: round(medianOf(ok, 'p99Ms'), 0),
      maxRssMb: round(medianOf(ok, 'maxRssMb'), 0),
      maxRssMbMax: round(maxOf(ok, 'maxRssMb'), 0),
      cpuSeconds: round(medianOf(ok, 'cpuSeconds'), 1),
      copyCpuSeconds: round(copyCpuSeconds, 1),
      copyCpuSecondsPerGiB:
        copyCpuSeconds === null || bytes <= 0 ? null : round(copyCpuSeconds / (bytes / GiB), 1),
      wallSeconds: round(medianOf(ok, 'wallSeconds'), 1),
      maxMs: round(medianOf(ok, 'maxMs'), 0),
      machineBusyPct: round(
        median(ok.flatMap((r) => (r.machineBusyPct == null ? [] : [r.machineBusyPct]))),
        0,
      ),
      resends: medianOf(ok, 'resends'),
      resendsMax: maxOf(ok, 'resends'),
      runs: ok.length,
      failedRuns: failed.length,
      ...(failed[0]?.error === undefined ? {} : { firstError: failed[0].error.split('\n')[0] }),
    };
  });
}

export const find = (rows: readonly ScenarioResult[], scenario: string, system: SystemName) =>
  rows.find((r) => r.name === scenario && r.system === system);

/** a / b of recordsPerSec, or null when either is missing. */
export function ratio(a: ScenarioResult | undefined, b: ScenarioResult | undefined): number | null {
  if (a?.recordsPerSec == null || b?.recordsPerSec == null || b.recordsPerSec === 0) return null;
  return a.recordsPerSec / b.recordsPerSec;
}

/** The smaller of the two ceilings that ran in a scenario. */
export function ceilingOf(rows: readonly ScenarioResult[], scenario: string): ScenarioResult | undefined {
  const ceilings = [find(rows, scenario, 'ceiling-produce'), find(rows, scenario, 'ceiling-consume')].filter(
    (r): r is ScenarioResult => r?.recordsPerSec != null,
  );
  return ceilings.sort((a, b) => (a.recordsPerSec ?? 0) - (b.recordsPerSec ?? 0))[0];
}

export const cell = (value: number | string | null | undefined, suffix = ''): string =>
  value === null || value === undefined
    ? '–'
    : `${typeof value === 'number' ? value.toLocaleString('en-US') : value}${suffix}`;
export const times = (value: number | null): string => (value === null ? '–' : `${value.toFixed(2)}x`);

/** records/s with the range over repetitions when they differ: `133,745 (120,001-140,000)`. */
function rateCell(r: ScenarioResult): string {
  if (r.recordsPerSecMin === null || r.recordsPerSecMax === null || r.recordsPerSecMin === r.recordsPerSecMax)
    return cell(r.recordsPerSec);
  return `${cell(r.recordsPerSec)} (${cell(r.recordsPerSecMin)}-${cell(r.recordsPerSecMax)})`;
}

/** Median resends, and the most in one run when that is more. */
function resendsCell(r: ScenarioResult): string {
  return r.resendsMax === null || r.resendsMax === r.resends
    ? cell(r.resends)
    : `${cell(r.resends)} (max ${cell(r.resendsMax)})`;
}

/** Steady-load scenarios (latency, not records/s, is what they compare). */
export const isSteady = (name: string): boolean => name.startsWith('steady-');

/** The exactly-once scenarios and their at-least-once twins (same data, same link). */
const EXACTLY_ONCE_TWIN: Readonly<Partial<Record<ScenarioName, ScenarioName>>> = {
  'backlog-1k-eos': 'backlog-1k',
  'wan-100ms-eos': 'wan-100ms',
};

export function renderMarkdown(report: BenchReport): string {
  const rows = report.scenarios;
  const out: string[] = [];
  out.push(`# Replication benchmark: latest results`, '');
  out.push(
    `${report.date} · ${report.machine} · Apache Kafka ${report.kafkaVersion} · scale ${report.run.scale}, ` +
      `${report.run.repetitions} repetition(s), medians · load average at start ${report.run.loadAverageAtStart.map((l) => l.toFixed(2)).join(' ')} · ` +
      `${Math.round(report.run.durationSeconds / 60)} min`,
    '',
  );
  if (report.run.scale < 1 || report.run.repetitions < 3) {
    out.push(
      `> **Smoke run** (scale ${report.run.scale}, ${report.run.repetitions} repetition(s)): it shows the benchmark works, ` +
        'not how fast anything is. Runs this small are dominated by start-up and the 50 ms poll interval.',
      '',
    );
  }
  for (const note of report.run.notes) out.push(`> ${note}`, '');
  const steadyRates = Object.entries(report.run.steadyRates).map(
    ([name, rate]) => `${name} ${cell(rate)} records/s`,
  );
  out.push(
    'Method and settings: docs/performance.md. MB = 2^20 bytes. `seconds`: first record on the target to the last',
  );
  out.push(
    '(ceiling-consume: its fetch time); `wall`: from process start, start-up included. `records/s`: median, and in',
    'brackets the slowest and fastest repetition. `CPU s`: user + system time of the process from its start to the last',
    'record; `copy CPU s`: the same between the first and the last record (steady scenarios: over the measured load),',
    'and per GiB of values copied. `resends`: produce requests kafka-mirror sent again',
    '(kafka_mirror_produce_retries_total), median per run, and the most in one run when that is more.',
    ...(steadyRates.length === 0 ? [] : [`Steady rates: ${steadyRates.join(', ')}.`]),
    '',
  );
  out.push(
    '| scenario | system | records | MB | seconds | wall s | records/s (min-max) | MB/s | p50 ms | p99 ms | max ms | peak RSS MiB | CPU s | copy CPU s | copy CPU s/GiB | resends | runs |',
    '| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |',
  );
  for (const r of rows) {
    const runs =
      r.failedRuns === 0 ? String(r.runs) : `${r.runs} ok, ${r.failedRuns} failed: ${r.firstError ?? ''}`;
    out.push(
      `| ${r.name} | ${r.system} | ${cell(r.records)} | ${cell(Math.round(r.bytes / MB))} | ${cell(r.seconds)} | ${cell(r.wallSeconds)} | ` +
        `${rateCell(r)} | ${cell(r.mbPerSec)} | ${cell(r.p50Ms)} | ${cell(r.p99Ms)} | ${cell(r.maxMs)} | ` +
        `${cell(r.maxRssMb)} | ${cell(r.cpuSeconds)} | ${cell(r.copyCpuSeconds)} | ${cell(r.copyCpuSecondsPerGiB)} | ` +
        `${resendsCell(r)} | ${runs.replaceAll('|', '/')} |`,
    );
  }
  out.push('', '## Ratios (records/s, same run)', '');
  out.push(
    '| scenario | kafka-mirror / mm2-default | kafka-mirror / mm2-tuned | kafka-mirror / mm2-eos | kafka-mirror / ceiling | ceiling used |',
  );
  out.push('| --- | ---: | ---: | ---: | ---: | --- |');
  const scenarios = [...new Set(rows.map((r) => r.name))];
  const busyLines: string[] = [];
  for (const name of scenarios) {
    const km = find(rows, name, 'kafka-mirror');
    if (isSteady(name)) {
      const p99 = (system: SystemName) => find(rows, name, system)?.p99Ms ?? null;
      const latency = (other: SystemName) => {
        const a = p99('kafka-mirror');
        const b = p99(other);
        return a === null || b === null || b === 0 ? '–' : `p99 ${(a / b).toFixed(2)}x`;
      };
      out.push(
        `| ${name} (latency, lower is better) | ${latency('mm2-default')} | ${latency('mm2-tuned')} | – | ${latency('ceiling-produce')} | ceiling-produce (produce to consume on the target) |`,
      );
      const busy = rows
        .filter((r) => r.name === name && r.machineBusyPct !== null)
        .map((r) => `${r.system} ${r.machineBusyPct}%`);
      if (busy.length > 0)
        busyLines.push(
          `Machine CPU busy while ${name} was measured (all processes, median of runs): ${busy.join(', ')}.`,
        );
      continue;
    }
    const ceiling = ceilingOf(rows, name);
    out.push(
      `| ${name} | ${times(ratio(km, find(rows, name, 'mm2-default')))} | ${times(ratio(km, find(rows, name, 'mm2-tuned')))} | ` +
        `${times(ratio(km, find(rows, name, 'mm2-eos')))} | ${times(ratio(km, ceiling))} | ${ceiling?.system ?? '–'} |`,
    );
  }
  const twins = Object.entries(EXACTLY_ONCE_TWIN).flatMap(([eos, twin]) => {
    const value = ratio(find(rows, eos, 'kafka-mirror'), find(rows, twin, 'kafka-mirror'));
    return value === null ? [] : [`${eos} / ${twin} ${times(value)}`];
  });
  if (twins.length > 0)
    out.push(
      '',
      `kafka-mirror exactly-once against its own at-least-once copy of the same data: ${twins.join('; ')}.`,
    );
  for (const line of busyLines) out.push('', line);
  out.push('', '## Targets of issue 24', '');
  if (report.run.scale < 1 || report.run.repetitions < 3)
    out.push(
      'The targets are set for a run at scale 1 with at least 3 repetitions; this one is smaller.',
      '',
    );
  out.push('| target | value | status |', '| --- | ---: | --- |');
  for (const t of report.targets) {
    const status = t.status === 'not met' ? '**not met**' : t.status;
    out.push(`| ${t.target} | ${t.detail} | ${status} |`);
  }
  out.push('');
  return out.join('\n');
}
