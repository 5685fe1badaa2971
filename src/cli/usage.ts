// The command line's grammar: the options kafka-mirror knows, and which of them each command
// takes. Anything else is refused before a command runs (KM_USAGE, exit 2).
import { parseArgs } from 'node:util';
import { UsageError } from '../errors/index.ts';
import type { CommandLine } from './command.ts';

/** The options each command takes (besides --help) and how many arguments follow its name. */
const COMMAND_OPTIONS: Record<string, { options: readonly string[]; args: number }> = {
  start: { options: ['config'], args: 0 },
  validate: { options: ['config'], args: 0 },
  plan: { options: ['config'], args: 0 },
  status: { options: ['url', 'config', 'json'], args: 0 },
  verify: { options: ['config', 'flow', 'topic', 'since', 'json'], args: 0 },
  offsets: { options: ['config', 'flow', 'group', 'position', 'positions-file', 'out', 'json'], args: 1 },
  'migrate-status': { options: ['config', 'flow', 'json'], args: 0 },
  pause: { options: ['config', 'admin', 'token-file', 'flow', 'json'], args: 0 },
  resume: { options: ['config', 'admin', 'token-file', 'flow', 'json'], args: 0 },
  'resume-partition': {
    options: ['config', 'admin', 'token-file', 'flow', 'topic', 'partition', 'json'],
    args: 0,
  },
  'log-level': { options: ['config', 'admin', 'token-file', 'json'], args: 1 },
  refresh: { options: ['config', 'admin', 'token-file', 'flow', 'json'], args: 0 },
  reload: { options: ['config', 'admin', 'token-file', 'json'], args: 0 },
  version: { options: [], args: 0 },
  help: { options: [], args: 1 },
  drill: { options: ['config', 'flow', 'group', 'json'], args: 0 },
  divergence: { options: ['config', 'admin', 'flow', 'list', 'json'], args: 0 },
  reconcile: { options: ['config', 'flow', 'to-topic', 'reverse-flow', 'dry-run', 'json'], args: 0 },
};

/** Refuses an option or an argument the command does not take, before anything runs. */
function checkUsage(positionals: readonly string[], given: readonly string[]): void {
  const [command = '', ...rest] = positionals;
  const usage = COMMAND_OPTIONS[command];
  if (usage === undefined) return; // an unknown command is refused by name below
  const name = [command, ...rest.slice(0, usage.args)].join(' ');
  for (const option of given) {
    if (option !== 'help' && !usage.options.includes(option))
      throw new UsageError(`${name} does not take --${option}; run kafka-mirror help ${command}`);
  }
  const [extra] = rest.slice(usage.args);
  if (extra !== undefined) throw new UsageError(`${name} takes no argument "${extra}"`);
}

/**
 * The command line parsed: unknown options, options without their value and options or arguments
 * the command does not take are refused (parseArgs's ERR_PARSE_ARGS_* errors, or KM_USAGE).
 */
export function parseCommandLine(argv: readonly string[]): CommandLine {
  const { positionals, values } = parseArgs({
    args: [...argv],
    allowPositionals: true,
    strict: true,
    options: {
      help: { type: 'boolean', short: 'h' },
      config: { type: 'string', short: 'c' },
      url: { type: 'string', short: 'u' },
      json: { type: 'boolean' },
      flow: { type: 'string' },
      topic: { type: 'string' },
      since: { type: 'string' },
      // Repeatable for drill; the other commands take the last one given (`group`).
      group: { type: 'string', multiple: true },
      position: { type: 'string', multiple: true },
      'positions-file': { type: 'string' },
      out: { type: 'string' },
      admin: { type: 'string' },
      'token-file': { type: 'string' },
      partition: { type: 'string' },
      list: { type: 'boolean' },
      'to-topic': { type: 'string' },
      'reverse-flow': { type: 'string' },
      'dry-run': { type: 'boolean' },
      version: { type: 'boolean', short: 'v' },
    },
  });
  checkUsage(positionals, Object.keys(values));
  const { group, ...rest } = values;
  return { positionals, values: { ...rest, group: group?.at(-1), groups: group } };
}
