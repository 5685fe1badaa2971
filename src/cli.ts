// The kafka-mirror command line's entry point (bin/kafka-mirror.js runs its compiled form, `npm
// start` this file). With src/cli/, where the commands are, the only code that writes to the terminal
// and exits the process.
import { main } from './cli/main.ts';

export { ExitCode, type Io } from './cli/command.ts';
export { main } from './cli/main.ts';

/** Runs the CLI on this process's arguments and sets its exit code. */
export async function run(): Promise<void> {
  const args = process.argv.slice(2);
  const code = await main(args, {
    out: (text) => process.stdout.write(text),
    err: (text) => process.stderr.write(text),
  });
  process.exitCode = code;
  // After a daemon run, client sockets and timers that outlive close() must not keep the process alive.
  if (args[0] === 'start') process.exit(code);
}

if (import.meta.main) await run();
