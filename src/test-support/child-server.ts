/** Waiting for a server started as a child process (the built CLI) to answer. */
import type { ChildProcess } from 'node:child_process';

/** Resolves once `url` answers 2xx; rejects if the child exits first or nothing answers in 30 s. */
export async function waitForChildServer(url: string, child: ChildProcess): Promise<void> {
  for (let i = 0; i < 300; i++) {
    if (child.exitCode !== null) throw new Error(`server exited with ${child.exitCode}`);
    try {
      if ((await fetch(url)).ok) return;
    } catch {
      /* not up yet */
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`${url} never answered`);
}
