/**
 * The cluster's child processes and temp directories: each is stopped (or removed) by an exit handler
 * if the test process ends first (a failing test, a crash); and the tail of a child's log for errors.
 */
import type { ChildProcess } from 'node:child_process';
import { readFileSync, rmSync } from 'node:fs';

/** The last lines of a log file, for an error message. */
export function tail(file: string, lines = 30): string {
  try {
    return readFileSync(file, 'utf8').split('\n').slice(-lines).join('\n');
  } catch {
    return '(no log)';
  }
}

// Children still running when the test process exits are stopped here (a failing test, a crash).
const liveChildren = new Map<ChildProcess, NodeJS.Signals>();
export const liveDirs = new Set<string>();
function killLeftovers(): void {
  for (const [child, signal] of liveChildren) {
    try {
      child.kill(signal);
    } catch {
      /* gone */
    }
  }
  for (const d of liveDirs) rmSync(d, { recursive: true, force: true });
}
process.once('exit', killLeftovers);
for (const sig of ['SIGINT', 'SIGTERM'] as const) {
  process.once(sig, () => {
    killLeftovers();
    process.exit(130);
  });
}

/** A child process whose exit is awaited; `signal` is how the exit handler stops it. */
export function track(child: ChildProcess, leftoverSignal: NodeJS.Signals): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
  liveChildren.set(child, leftoverSignal);
  return new Promise((resolveExit) => {
    child.once('exit', (code, signal) => {
      liveChildren.delete(child);
      resolveExit({ code, signal });
    });
  });
}
