/** A TCP proxy the test can cut or stall (loopback only), in front of PostgreSQL. */
import net from 'node:net';

interface ProxiedPair {
  client: net.Socket;
  upstream: net.Socket | undefined;
}

/**
 * Forwards 127.0.0.1:port to a target, like a Toxiproxy proxy, so a test can take the database
 * away from the nodes without touching the shared server:
 * - `cut()` resets every open connection and resets new ones as they arrive (the server is down);
 * - `stall()` keeps every connection open but forwards nothing, and holds new ones unanswered
 *   (the server hangs, or the network drops packets);
 * - `restore()` forwards again (stalled connections resume with what they buffered).
 */
export class TcpProxy {
  private server: net.Server | undefined;
  private readonly pairs = new Set<ProxiedPair>();
  private mode: 'open' | 'cut' | 'stalled' = 'open';
  port = 0;

  constructor(private readonly target: { host: string; port: number }) {}

  async start(): Promise<number> {
    const server = net.createServer((client) => this.onConnection(client));
    this.server = server;
    await new Promise<void>((r, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => r());
    });
    this.port = (server.address() as net.AddressInfo).port;
    return this.port;
  }

  private onConnection(client: net.Socket): void {
    client.on('error', () => {});
    if (this.mode === 'cut') {
      client.resetAndDestroy();
      return;
    }
    const pair: ProxiedPair = { client, upstream: undefined };
    this.pairs.add(pair);
    client.on('close', () => this.drop(pair));
    if (this.mode === 'stalled') client.pause();
    else this.connect(pair);
  }

  private connect(pair: ProxiedPair): void {
    const upstream = net.connect(this.target.port, this.target.host);
    pair.upstream = upstream;
    upstream.on('error', () => this.drop(pair));
    upstream.on('close', () => this.drop(pair));
    pair.client.pipe(upstream);
    upstream.pipe(pair.client);
  }

  private drop(pair: ProxiedPair): void {
    this.pairs.delete(pair);
    pair.client.destroy();
    pair.upstream?.destroy();
  }

  /** Drops every connection (RST) and refuses new ones until restore(). */
  cut(): void {
    this.mode = 'cut';
    for (const pair of [...this.pairs]) {
      this.pairs.delete(pair);
      if (!pair.client.destroyed) pair.client.resetAndDestroy();
      if (pair.upstream && !pair.upstream.destroyed) pair.upstream.resetAndDestroy();
    }
  }

  /** Forwards nothing more, either way, and leaves new connections unanswered, until restore(). */
  stall(): void {
    this.mode = 'stalled';
    for (const { client, upstream } of this.pairs) {
      if (!upstream) continue;
      client.unpipe(upstream);
      upstream.unpipe(client);
      client.pause();
      upstream.pause();
    }
  }

  restore(): void {
    const was = this.mode;
    this.mode = 'open';
    if (was !== 'stalled') return;
    for (const pair of this.pairs) {
      if (!pair.upstream) this.connect(pair);
      else {
        pair.client.pipe(pair.upstream);
        pair.upstream.pipe(pair.client);
      }
    }
  }

  async close(): Promise<void> {
    this.cut();
    await new Promise<void>((r) => (this.server ? this.server.close(() => r()) : r()));
  }
}
