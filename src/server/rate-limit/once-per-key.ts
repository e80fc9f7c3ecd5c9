/**
 * At most once per interval per key: keeps a repeated security event (a throttled address, a
 * failing push endpoint) from flooding the log. In memory, per node.
 */
import type { Clock } from '../services/context.js';

/** Says whether something keyed (a security event to log) may happen now: at most once per `everyMs` per key. */
export class OncePerKey {
  private readonly last = new Map<string, number>();

  constructor(
    private readonly clock: Clock,
    private readonly everyMs: number,
    /** Above this many keys the memory is simply emptied (at worst one event too many is logged). */
    private readonly maxKeys = 10_000,
  ) {}

  allow(key: string): boolean {
    const now = this.clock.now();
    const last = this.last.get(key);
    if (last !== undefined && now - last < this.everyMs) return false;
    if (this.last.size >= this.maxKeys) this.last.clear();
    this.last.set(key, now);
    return true;
  }
}
