// What the control commands (pause, resume, resume-partition, log-level, refresh) share: the
// daemon's admin address, the bearer token, and one POST to its /control/ endpoints
// (docs/operations.md, Control). A refusal or no answer is KM_CONTROL_REFUSED (exit 1).
import { clientToken, loadConfigFile } from '../config/index.ts';
import { ControlRefusedError, UsageError } from '../errors/index.ts';
import { adminRequest, adminTargetOf, type AdminAnswer, type AdminTarget } from './admin-client.ts';
import { ExitCode, printReport, type CommandLine, type Io } from './command.ts';

/** A control endpoint's answer on success. */
export type ControlAnswer = Record<string, unknown> & { ok: true; action: string };

/** --admin, or the admin server the config given with --config describes (HTTPS with admin.tls). */
async function adminTarget({ positionals, values }: CommandLine): Promise<AdminTarget> {
  if (values.admin !== undefined) return { base: values.admin };
  if (values.config === undefined)
    throw new UsageError(
      `${positionals[0] ?? ''} needs --admin <url> or --config <file> (its admin.host and admin.port)`,
    );
  return adminTargetOf((await loadConfigFile(values.config, process.env)).admin);
}

/** POSTs `body` to the daemon's `path`; the answer, or ControlRefusedError with the daemon's reason. */
export async function control(line: CommandLine, path: string, body: object = {}): Promise<ControlAnswer> {
  const token = clientToken(line.values['token-file'], process.env);
  if ('missing' in token) throw new UsageError(token.missing);
  const target = await adminTarget(line);
  const base = target.base;
  try {
    new URL(path, base);
  } catch {
    throw new UsageError(`--admin "${base}" is not a URL (such as http://127.0.0.1:9464)`);
  }
  let response: AdminAnswer;
  try {
    response = await adminRequest(target, path, {
      method: 'POST',
      headers: { authorization: `Bearer ${token.token}`, 'content-type': 'application/json' },
      body: JSON.stringify(body),
      // A resume seeks and a refresh syncs topics: allow a slow cluster its time.
      timeoutMs: 60_000,
    });
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    throw new ControlRefusedError(`no answer from ${base}: ${reason}`, undefined, error);
  }
  const text = response.text;
  let answer: { ok?: boolean; error?: { code?: string; message?: string } } & Record<string, unknown>;
  try {
    answer = JSON.parse(text) as typeof answer;
  } catch {
    throw new ControlRefusedError(
      `${base} answered HTTP ${response.status}, not JSON: is it kafka-mirror's admin server?`,
      response.status,
    );
  }
  if (!response.ok || answer.ok !== true) {
    const { code = 'unknown', message = text.trim() } = answer.error ?? {};
    throw new ControlRefusedError(`refused (HTTP ${response.status}, ${code}): ${message}`, response.status);
  }
  return answer as ControlAnswer;
}

/** Prints the answer (--json: as it came) and exits 0. */
export function done(io: Io, line: CommandLine, answer: ControlAnswer, text: string): number {
  printReport(io, line, answer, () => `${text}\n`);
  return ExitCode.OK;
}

/** --flow, required. */
export function flowOf(line: CommandLine): string {
  const flow = line.values.flow;
  if (flow === undefined) throw new UsageError(`${line.positionals[0] ?? ''} needs --flow <name>`);
  return flow;
}

/** A flow's control path: /control/flows/<flow>/<action>. */
export function flowPath(flow: string, action: string): string {
  return `/control/flows/${encodeURIComponent(flow)}/${action}`;
}
