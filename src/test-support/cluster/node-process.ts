/** One Carillon node of the cluster: `node dist/cli/main.js serve` on its own PORT and DATA_DIR. */
import { type ChildProcess, spawn } from 'node:child_process';
import { closeSync, mkdirSync, openSync } from 'node:fs';
import { join } from 'node:path';
import { tail, track } from './children.js';
import { DIST_MAIN, REPO_ROOT } from './paths.js';
import { waitUntil, within } from './wait.js';

export interface ExitInfo {
  code: number | null;
  signal: NodeJS.Signals | null;
  expected: boolean;
}

/** One `node dist/cli/main.js serve` process on its own PORT and DATA_DIR. */
export class NodeProcess {
  private child: ChildProcess | undefined;
  private exitedPromise: Promise<ExitInfo> | undefined;
  private expectExit = false;
  /** Every exit so far (a crash shows up here with expected: false). */
  readonly exits: ExitInfo[] = [];
  /** The environment of the running (or last) process, beyond the cluster's common one. */
  env: Record<string, string> = {};

  constructor(
    readonly name: string,
    readonly port: number,
    private readonly dir: string,
    private readonly commonEnv: () => Record<string, string>,
  ) {}

  get baseUrl(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  get logFile(): string {
    return join(this.dir, 'node.log');
  }

  get running(): boolean {
    return this.child !== undefined;
  }

  get pid(): number | undefined {
    return this.child?.pid;
  }

  logTail(lines = 30): string {
    return tail(this.logFile, lines);
  }

  async start(env: Record<string, string> = {}): Promise<void> {
    if (this.child) throw new Error(`${this.name} is already running`);
    mkdirSync(this.dir, { recursive: true });
    this.env = env;
    this.expectExit = false;
    const fd = openSync(this.logFile, 'a');
    const child = spawn(process.execPath, ['--enable-source-maps', DIST_MAIN, 'serve'], {
      cwd: REPO_ROOT,
      // Only what the node needs: nothing of the test's own environment (its DATABASE_URL etc.) leaks in.
      env: {
        PATH: process.env.PATH ?? '/usr/bin:/bin',
        PORT: String(this.port),
        HOST: '127.0.0.1',
        DATA_DIR: join(this.dir, 'data'),
        LOG_LEVEL: 'info',
        ...this.commonEnv(),
        ...env,
      },
      stdio: ['ignore', fd, fd],
    });
    closeSync(fd);
    this.child = child;
    this.exitedPromise = track(child, 'SIGKILL').then(({ code, signal }) => {
      const info = { code, signal, expected: this.expectExit };
      this.exits.push(info);
      if (this.child === child) this.child = undefined;
      return info;
    });
    await waitUntil(
      async () => {
        if (!this.child) throw new Error(`${this.name} exited at start:\n${this.logTail()}`);
        try {
          return (await fetch(`${this.baseUrl}/readyz`, { signal: AbortSignal.timeout(2000) })).status === 200;
        } catch {
          return false;
        }
      },
      `${this.name} to be ready on port ${this.port}`,
      30_000,
      100,
    );
  }

  /** kill -9: no drain, no goodbye. */
  async kill9(): Promise<ExitInfo> {
    if (!this.child) throw new Error(`${this.name} is not running`);
    this.expectExit = true;
    this.child.kill('SIGKILL');
    return within(this.exitedPromise!, 10_000, `${this.name} to die`);
  }

  /** SIGTERM (the graceful drain), then SIGKILL if it has not exited in time. */
  async stop(timeoutMs = 15_000): Promise<ExitInfo | undefined> {
    if (!this.child) return undefined;
    this.expectExit = true;
    const child = this.child;
    child.kill('SIGTERM');
    try {
      return await within(this.exitedPromise!, timeoutMs, `${this.name} to stop after SIGTERM`);
    } catch (e) {
      child.kill('SIGKILL');
      await this.exitedPromise;
      throw e;
    }
  }
}
