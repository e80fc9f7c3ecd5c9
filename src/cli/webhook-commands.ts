/**
 * `carillon webhook create|list` (over the same WebhookService the API uses, with the server's own
 * authority on the configured store and secret) and `carillon post URL TEXT`, a client for any
 * Chime-compatible webhook URL (SPEC 8).
 */
import { parseArgs } from 'node:util';
import type { Config } from '../server/config.js';
import { redactUrl } from '../server/http/redact.js';
import { loadSecret } from '../server/secret.js';
import { SERVER_ACTOR } from '../server/services/access.js';
import { WebhookService } from '../server/webhooks/webhook-service.js';
import { type CliExtension, type CliIo, UsageError, resolveRoom, withServices } from './common.js';

const CREATE_HELP = `Usage: carillon webhook create ROOM NAME

Creates a webhook in ROOM (a room id, or a unique room name) and prints its URL alone on
standard output, so that WEBHOOK_URL=$(carillon webhook create …) works; a description goes to
standard error. Anyone with the URL can post to the room: keep it secret. Uses the server's
DATA_DIR / DATABASE_URL and its secret (SECRET, SECRET_FILE or DATA_DIR/secret), so run it with
the same settings as the server, or the URL it prints will not work.
`;

const LIST_HELP = `Usage: carillon webhook list ROOM

Prints the webhooks of ROOM (a room id, or a unique room name), one per line and nothing else:
ID<TAB>NAME<TAB>URL. Run it with the same settings as the server (see carillon webhook create --help).
`;

const POST_HELP = `Usage: carillon post URL TEXT [--key KEY] [--retries N] [--max-wait SECONDS]

Posts TEXT ("-" reads it from standard input) to a Chime-compatible incoming webhook URL, as
{"Content": TEXT}, and prints the MessageId alone on standard output. With --key KEY (1-128
characters; a Carillon server), the post updates the webhook's earlier message with that key
instead of adding one, e.g. an alert's "firing" message when it resolves. On 429 (throttled) or 503
(unavailable) it waits as long as the server's Retry-After says and tries again, at most N times
(default 3), waiting at most SECONDS each time (default 60). Exits 1 with the server's Message
when the post is refused.
`;

function wantsHelp(args: string[]): boolean {
  return args.includes('--help') || args.includes('-h');
}

async function webhookCreate(config: Config, args: string[], io: CliIo): Promise<number> {
  if (wantsHelp(args)) {
    io.out(CREATE_HELP);
    return 0;
  }
  const { positionals } = parseArgs({ args, options: {}, allowPositionals: true, strict: true });
  if (positionals.length !== 2) throw new UsageError('usage: carillon webhook create ROOM NAME (see --help)');
  const [roomRef, name] = positionals as [string, string];
  const secret = loadSecret(config).secret;
  const { created, roomId } = await withServices(config, async (s) => {
    const roomId = await resolveRoom(s.store, roomRef);
    return { created: await new WebhookService(s, secret).create(SERVER_ACTOR, roomId, name), roomId };
  });
  io.err(`created webhook "${created.name}" (id ${created.id}) in room ${roomId}; anyone with its URL can post to the room: keep it secret\n`);
  io.out(`${created.url}\n`);
  return 0;
}

async function webhookList(config: Config, args: string[], io: CliIo): Promise<number> {
  if (wantsHelp(args)) {
    io.out(LIST_HELP);
    return 0;
  }
  const { positionals } = parseArgs({ args, options: {}, allowPositionals: true, strict: true });
  if (positionals.length !== 1) throw new UsageError('usage: carillon webhook list ROOM (see --help)');
  const secret = loadSecret(config).secret;
  const list = await withServices(config, async (s) => {
    const roomId = await resolveRoom(s.store, positionals[0]!);
    return new WebhookService(s, secret).list(SERVER_ACTOR, roomId);
  });
  for (const w of list) io.out(`${w.id}\t${w.name}\t${w.url}\n`);
  return 0;
}

/** Seconds from a Retry-After header: delta-seconds or an HTTP date; undefined when absent or unreadable. */
export function retryAfterSeconds(header: string | null, now = Date.now()): number | undefined {
  if (header === null) return undefined;
  const trimmed = header.trim();
  if (/^\d+$/.test(trimmed)) return Number(trimmed);
  const date = Date.parse(trimmed);
  return Number.isNaN(date) ? undefined : Math.max(0, Math.ceil((date - now) / 1000));
}

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

export interface PostOptions {
  /** Sent as "Key": the post updates the webhook's message with this key (Carillon, issue 14). */
  key?: string;
  retries: number;
  maxWaitSeconds: number;
  sleep?: (ms: number) => Promise<void>;
}

/** Posts once, then again after Retry-After on 429/503, up to `retries` more times. Returns the exit code. */
export async function postToWebhook(url: string, text: string, options: PostOptions, io: CliIo): Promise<number> {
  const sleep = options.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
  const shown = redactUrl(url);
  for (let attempt = 0; ; attempt++) {
    let res: Response;
    try {
      res = await fetch(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(options.key === undefined ? { Content: text } : { Content: text, Key: options.key }),
        redirect: 'error',
        signal: AbortSignal.timeout(60_000),
      });
    } catch (e) {
      const cause = (e as { cause?: { code?: string; message?: string } }).cause;
      io.err(`carillon: could not post to ${shown}: ${cause?.code ?? cause?.message ?? (e as Error).message}\n`);
      return 1;
    }
    const raw = await res.text();
    let body: { MessageId?: unknown; Code?: unknown; Message?: unknown } | undefined;
    try {
      body = raw ? JSON.parse(raw) : undefined;
    } catch {
      body = undefined;
    }
    if (res.ok) {
      if (typeof body?.MessageId === 'string') io.out(`${body.MessageId}\n`);
      return 0;
    }
    const code = typeof body?.Code === 'string' ? body.Code : undefined;
    const message = typeof body?.Message === 'string' && body.Message !== '' ? body.Message : `${res.status} ${res.statusText}`;
    if ((res.status === 429 || res.status === 503) && attempt < options.retries) {
      const wait = retryAfterSeconds(res.headers.get('retry-after')) ?? 1;
      if (wait <= options.maxWaitSeconds) {
        io.err(`carillon: ${res.status}${code ? ` ${code}` : ''}: ${message} Retrying in ${wait} s (${attempt + 1}/${options.retries}).\n`);
        await sleep(wait * 1000);
        continue;
      }
    }
    io.err(`carillon: ${message} (${res.status}${code ? ` ${code}` : ''})\n`);
    return 1;
  }
}

async function post(_config: Config, args: string[], io: CliIo): Promise<number> {
  if (wantsHelp(args)) {
    io.out(POST_HELP);
    return 0;
  }
  const { values, positionals } = parseArgs({
    args,
    options: { key: { type: 'string' }, retries: { type: 'string', default: '3' }, 'max-wait': { type: 'string', default: '60' } },
    allowPositionals: true,
    strict: true,
  });
  if (positionals.length !== 2) throw new UsageError('usage: carillon post URL TEXT (see --help)');
  const retries = Number(values.retries);
  const maxWaitSeconds = Number(values['max-wait']);
  if (!Number.isInteger(retries) || retries < 0 || retries > 100) throw new UsageError('--retries must be a whole number from 0 to 100');
  if (!Number.isFinite(maxWaitSeconds) || maxWaitSeconds < 0) throw new UsageError('--max-wait must be a number of seconds, 0 or more');
  const [url, textArg] = positionals as [string, string];
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new UsageError(`"${redactUrl(url)}" is not a URL; give the whole webhook URL, https://…/incomingwebhooks/…?token=…`);
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') throw new UsageError('the webhook URL must start with https:// or http://');
  const text = textArg === '-' ? await readStdin() : textArg;
  const key = values.key;
  if (key !== undefined && (key.length === 0 || [...key].length > 128)) throw new UsageError('--key must be 1 to 128 characters');
  return postToWebhook(url, text, { retries, maxWaitSeconds, ...(key !== undefined ? { key } : {}) }, io);
}

export const webhookCommands: CliExtension[] = [
  { words: 'webhook create', usage: 'webhook create ROOM NAME', summary: 'create a webhook and print its URL', run: webhookCreate },
  { words: 'webhook list', usage: 'webhook list ROOM', summary: 'list a room\'s webhooks with their URLs', run: webhookList },
  { words: 'post', usage: 'post URL TEXT [--key KEY]', summary: 'post TEXT to a Chime-compatible webhook URL (with --key: update that message), print the MessageId', run: post },
];
