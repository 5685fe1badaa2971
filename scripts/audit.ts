// `npm run audit`: `npm audit --omit=dev` under the project's policy (docs/operations.md,
// Dependencies). CI (.ci/run) runs it after `npm ci`.
// - An advisory of severity high or critical against a production dependency fails (exit 1),
//   unless scripts/audit-accepted.json accepts it. Moderate and low ones are printed as warnings.
// - scripts/audit-accepted.json is checked on every run, whether or not the registry answers:
//   each entry has an advisory `id` (GHSA-xxxx-xxxx-xxxx), the `package`, a `reason` and an
//   `expires` date (YYYY-MM-DD) at most 180 days ahead; a malformed or expired entry fails. An
//   accepted advisory no longer reported is a warning: remove its entry.
// - When the registry's audit endpoint does not answer, or answers with an error, nothing was
//   checked: the script says so on stderr and exits 0, so that an outage of the registry does not
//   block every change; with --require-endpoint (a release build) it exits 1 instead.
// --report <file> reads a saved `npm audit --omit=dev --json` output instead of running npm.
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';

export const FAILING = ['high', 'critical'] as const;
/** How far ahead an acceptance may expire, in days. */
export const MAX_ACCEPTANCE_DAYS = 180;
export const ACCEPTED_FILE = 'scripts/audit-accepted.json';

export interface Advisory {
  readonly id: string;
  readonly package: string;
  readonly severity: string;
  readonly title: string;
  readonly url: string;
}

export interface Acceptance {
  readonly id: string;
  readonly package: string;
  readonly reason: string;
  readonly expires: string;
}

export interface Verdict {
  readonly failures: string[];
  readonly warnings: string[];
}

interface ViaAdvisory {
  source?: number;
  name?: string;
  dependency?: string;
  title?: string;
  url?: string;
  severity?: string;
}

/** The advisories of an `npm audit --json` report (version 2), or undefined if it is not one. */
export function advisoriesOf(report: unknown): Advisory[] | undefined {
  const vulnerabilities = (report as { vulnerabilities?: unknown } | null)?.vulnerabilities;
  if (typeof vulnerabilities !== 'object' || vulnerabilities === null || 'error' in (report as object))
    return undefined;
  const found = new Map<string, Advisory>();
  for (const entry of Object.values(vulnerabilities as Record<string, { via?: unknown[] }>)) {
    for (const via of entry.via ?? []) {
      if (typeof via !== 'object' || via === null) continue; // a package name: its own entry has the advisory
      const { source, name, dependency, title, url, severity } = via as ViaAdvisory;
      const id = /GHSA(-[23456789cfghjmpqrvwx]{4}){3}/.exec(url ?? '')?.[0] ?? `npm-${source ?? '?'}`;
      const pkg = dependency ?? name ?? '?';
      found.set(`${id} ${pkg}`, {
        id,
        package: pkg,
        severity: severity ?? 'unknown',
        title: title ?? '',
        url: url ?? '',
      });
    }
  }
  return [...found.values()];
}

/** Problems of the accepted-advisories file's content, one line each. */
export function acceptanceProblems(entries: unknown, today: string): string[] {
  if (!Array.isArray(entries)) return [`${ACCEPTED_FILE}: "accepted" must be a list`];
  const limit = new Date(Date.parse(today) + MAX_ACCEPTANCE_DAYS * 86_400_000).toISOString().slice(0, 10);
  return entries.flatMap((raw: unknown, index) => {
    const entry = (typeof raw === 'object' && raw !== null ? raw : {}) as Record<string, unknown>;
    const where = `${ACCEPTED_FILE}: accepted[${index}]${typeof entry['id'] === 'string' ? ` (${entry['id']})` : ''}`;
    const problems: string[] = [];
    if (typeof entry['id'] !== 'string' || !/^GHSA(-[23456789cfghjmpqrvwx]{4}){3}$/.test(entry['id']))
      problems.push(`${where}: "id" must be a GitHub advisory id such as GHSA-xxxx-xxxx-xxxx`);
    for (const key of ['package', 'reason'])
      if (typeof entry[key] !== 'string' || (entry[key] as string).trim() === '')
        problems.push(`${where}: "${key}" must be a non-empty string`);
    const expires = entry['expires'];
    if (
      typeof expires !== 'string' ||
      !/^\d{4}-\d{2}-\d{2}$/.test(expires) ||
      Number.isNaN(Date.parse(expires))
    )
      problems.push(`${where}: "expires" must be a date, YYYY-MM-DD`);
    else if (expires < today)
      problems.push(`${where}: expired on ${expires}: fix the dependency or renew the acceptance`);
    else if (expires > limit)
      problems.push(
        `${where}: expires ${expires}, more than ${MAX_ACCEPTANCE_DAYS} days ahead (${limit} at the latest)`,
      );
    return problems;
  });
}

/** The policy applied to a report's advisories and valid acceptances. */
export function verdict(advisories: Advisory[], accepted: Acceptance[]): Verdict {
  const failures: string[] = [];
  const warnings: string[] = [];
  const acceptedIds = new Set(accepted.map((a) => a.id));
  for (const a of advisories) {
    const line = `${a.severity} ${a.id} in ${a.package}: ${a.title} ${a.url}`.trim();
    if (acceptedIds.has(a.id)) warnings.push(`accepted (${ACCEPTED_FILE}): ${line}`);
    else if ((FAILING as readonly string[]).includes(a.severity)) failures.push(line);
    else warnings.push(line);
  }
  const reported = new Set(advisories.map((a) => a.id));
  for (const a of accepted)
    if (!reported.has(a.id))
      warnings.push(`${ACCEPTED_FILE}: ${a.id} is no longer reported: remove its entry`);
  return { failures, warnings };
}

/** `npm audit --omit=dev --json`'s parsed output, or why there is none. */
function runAudit(): { report: unknown } | { problem: string } {
  const result = spawnSync('npm', ['audit', '--omit=dev', '--json'], {
    encoding: 'utf8',
    maxBuffer: 64 * 1024 * 1024,
  });
  if (result.error !== undefined) return { problem: `cannot run npm: ${result.error.message}` };
  try {
    return { report: JSON.parse(result.stdout) as unknown };
  } catch {
    return {
      problem: `npm audit exited ${result.status} without a report: ${result.stderr.trim().split('\n').at(-1) ?? ''}`,
    };
  }
}

/** What npm said instead of a report (`npm audit --json` prints `{ message, statusCode, ... }`). */
function endpointMessage(report: unknown): string {
  const message = (report as { message?: unknown; error?: { summary?: unknown } } | null)?.message;
  return typeof message === 'string' ? message : JSON.stringify(report).slice(0, 300);
}

function main(): number {
  const { values } = parseArgs({
    options: { report: { type: 'string' }, 'require-endpoint': { type: 'boolean', default: false } },
  });
  const today = new Date().toISOString().slice(0, 10);
  const file = JSON.parse(readFileSync(path.resolve(ACCEPTED_FILE), 'utf8')) as { accepted?: unknown };
  const problems = acceptanceProblems(file.accepted, today);
  for (const problem of problems) process.stderr.write(`audit: FAIL ${problem}\n`);
  const audit =
    values.report === undefined ? runAudit() : { report: JSON.parse(readFileSync(values.report, 'utf8')) };
  const advisories = 'report' in audit ? advisoriesOf(audit.report) : undefined;
  if (advisories === undefined) {
    const detail = 'problem' in audit ? audit.problem : endpointMessage(audit.report);
    const strict = values['require-endpoint'] === true;
    process.stderr.write(
      `audit: ${strict ? 'FAIL' : 'WARNING'}: the registry's audit endpoint gave no report, so production dependencies were NOT checked for advisories (${detail})\n`,
    );
    return strict || problems.length > 0 ? 1 : 0;
  }
  const { failures, warnings } = verdict(
    advisories,
    problems.length > 0 ? [] : (file.accepted as Acceptance[]),
  );
  for (const warning of warnings) process.stderr.write(`audit: warning: ${warning}\n`);
  for (const failure of failures) process.stderr.write(`audit: FAIL ${failure}\n`);
  const ok = failures.length === 0 && problems.length === 0;
  process.stdout.write(
    `audit: ${ok ? 'pass' : 'FAIL'}: ${advisories.length} advisories against production dependencies, ${failures.length} failing (${FAILING.join(', ')} not accepted)\n`,
  );
  return ok ? 0 : 1;
}

if (import.meta.main) process.exitCode = main();
