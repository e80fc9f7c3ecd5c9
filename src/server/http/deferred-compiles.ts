/**
 * Schema compilations put off from start-up to first use (validation.ts, serialization.ts; issue 7,
 * cold start), which the server also runs ahead of first use, in the background once it listens
 * (main.ts): so neither start-up nor the first request of each route pays for them.
 */
export class DeferredCompiles {
  private readonly pending = new Set<() => void>();

  /** Registers a compilation; `compile` must be idempotent (it runs at most once either way). */
  defer(compile: () => void): void {
    this.pending.add(compile);
  }

  /** The compilation ran (at first use): no need to run it ahead. */
  done(compile: () => void): void {
    this.pending.delete(compile);
  }

  get size(): number {
    return this.pending.size;
  }

  /** Runs every pending compilation, one per turn of the event loop, so requests are served in between. */
  async runAll(): Promise<void> {
    for (const compile of [...this.pending]) {
      this.pending.delete(compile);
      compile();
      await new Promise<void>((resolve) => setImmediate(resolve));
    }
  }
}
