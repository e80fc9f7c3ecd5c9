/**
 * What every format (issue 15) is: a URL suffix, a body cap, and a translator from the sender's
 * request to one message (`/md` content and, where the sender has an alert identity, a key that
 * makes a later post update it), or to nothing with a note (GitHub's ping, events we do not show).
 */
import type { IncomingHttpHeaders } from 'node:http';
import { AppError } from '../../errors.js';
import type { Clock } from '../../services/context.js';
import type { WebhookService } from '../webhook-service.js';
import type { SnsOptions } from './sns/verify.js';

/** What the formats that need more than the request get: the webhook service (GitHub's signing secret), the clock, options. */
export interface FormatContext {
  webhooks: WebhookService;
  clock: Clock;
  sns?: SnsOptions;
}

export const FORMAT_NAMES = ['slack', 'sns', 'alertmanager', 'grafana', 'github'] as const;
export type FormatName = (typeof FORMAT_NAMES)[number];

export type Outcome =
  /** Post (or, with a key, update) one message. `content` is a whole `/md` message (mdMessage fits it to the limit). */
  | {
      kind: 'post';
      content: string;
      key?: string | undefined;
      /**
       * The sender's own id of this delivery, the same on its retries (SNS's MessageId, GitHub's
       * X-GitHub-Delivery): used as the Idempotency-Key when the request sends none, so a retried
       * delivery answers the first one and stores nothing.
       */
      deliveryId?: string | undefined;
    }
  /** Answer 200 and store nothing; the note says why (JSON formats put it in the answer). */
  | { kind: 'ignore'; note: string };

export interface FormatRequest {
  /** The raw body, as sent (GitHub signs these bytes). */
  body: Buffer;
  headers: IncomingHttpHeaders;
  /** The webhook the URL authenticated as (at the URL's generation: GitHub's signing secret goes with it). */
  webhook: { id: string; roomId: string; name: string; generation: number };
}

export interface Format {
  name: FormatName;
  /** Shown in the OpenAPI document and errors: "Slack", "Amazon SNS", … */
  title: string;
  /** The largest body read, in bytes (larger: 413 without reading it all). */
  bodyLimit: number;
  translate(req: FormatRequest): Promise<Outcome> | Outcome;
}

export const invalidPayload = (message: string) => new AppError('InvalidPayload', message);

// Strict UTF-8 with a leading byte-order mark skipped, as on the Chime URL (payload.ts).
const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: false });

/** The body as UTF-8 text, or 400 InvalidPayload. */
export function bodyText(body: Buffer | undefined, what: string): string {
  if (body === undefined || body.length === 0) throw invalidPayload(`The request body is empty; send the ${what} JSON.`);
  try {
    return utf8.decode(body);
  } catch {
    throw invalidPayload(`The body is not valid UTF-8; send the ${what} JSON encoded as UTF-8.`);
  }
}

/**
 * The body as a JSON object, or 400 InvalidPayload. `form`: also accept the legacy
 * `application/x-www-form-urlencoded` body whose `payload` field holds the JSON (Slack and GitHub
 * both send that form when told to).
 */
export function parseJsonObject(body: Buffer | undefined, what: string, options: { form?: boolean } = {}): Record<string, unknown> {
  let text = bodyText(body, what).trim();
  if (options.form && /^payload=/.test(text)) {
    const payload = new URLSearchParams(text).getAll('payload');
    if (payload.length !== 1) throw invalidPayload(`The form body must have exactly one 'payload' field holding the ${what} JSON.`);
    text = payload[0]!;
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (e) {
    const reason = (e instanceof Error ? e.message : String(e)).replace(/,\s*".*" is not valid JSON$/s, '').slice(0, 120);
    throw invalidPayload(`The body is not valid JSON (${reason}); send the ${what} JSON as the request body.`);
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw invalidPayload(`The body must be a JSON object (the ${what} JSON), not ${value === null ? 'null' : Array.isArray(value) ? 'an array' : `a ${typeof value}`}.`);
  }
  return value as Record<string, unknown>;
}

/** A plain object's property when it is an object, else undefined. */
export function obj(v: unknown): Record<string, unknown> | undefined {
  return v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined;
}

/** A property when it is an array, else []. */
export function arr(v: unknown): unknown[] {
  return Array.isArray(v) ? v : [];
}

/** A sender's delivery id as an Idempotency-Key (`sns:…`, `github:…`), or undefined when it is not a usable one. */
export function deliveryIdOf(prefix: string, id: string | undefined): string | undefined {
  if (id === undefined) return undefined;
  const key = `${prefix}:${id.trim()}`;
  return id.trim() !== '' && key.length <= 255 && /^[\x20-\x7e]+$/.test(key) ? key : undefined;
}

/** A header's value as one string (repeated headers joined), or undefined. */
export function header(headers: IncomingHttpHeaders, name: string): string | undefined {
  const v = headers[name];
  return Array.isArray(v) ? v.join(', ') : v;
}
