// A watchdog that outlives its parent by design. The launcher starts one per test process with a
// pipe on its stdin and writes "+<pid>" / "-<pid>" lines for every JVM and proxy it starts or
// stops. When the parent dies, for any reason including SIGKILL, the pipe closes and the reaper
// SIGKILLs everything still registered, so no broker outlives the run that started it.
import { createInterface } from 'node:readline';

const pids = new Set<number>();

function killAll(): void {
  for (const pid of pids) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
  pids.clear();
}

const lines = createInterface({ input: process.stdin });
lines.on('line', (line) => {
  const pid = Number(line.slice(1));
  if (!Number.isInteger(pid) || pid <= 0) return;
  if (line.startsWith('+')) pids.add(pid);
  else if (line.startsWith('-')) pids.delete(pid);
});
lines.on('close', () => {
  killAll();
  process.exit(0);
});
process.on('SIGTERM', () => {
  killAll();
  process.exit(0);
});
