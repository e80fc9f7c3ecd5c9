/**
 * The delivery log and failure notices of webhooks (issue 15).
 *
 * Delivery log. Every answer on an authenticated webhook URL — the Chime endpoint and every other
 * format (/slack, /sns, …), 200s and errors — is recorded after the answer has been sent (Fastify
 * onResponse): `{id, at, status, code, bytes, latencyMs, messageId, format}`. Never the token, never
 * the body. A 404 for a regenerated URL's old token is recorded too (the token proves which webhook
 * it was for); a 403 (the URL does not authenticate) names no webhook and is not. Rows wait in a
 * small in-memory queue, written in one transaction every 200 ms or as soon as 1,000 are waiting, and
 * each webhook keeps its newest 100. The queue is bounded (10 000 rows; beyond that rows are dropped
 * and counted), and rows still queued when a node crashes are lost: the log is diagnostics, not data.
 * A graceful shutdown writes what is queued.
 *
 * Failure notices. A webhook whose answers include at least 20 4xx (400, 404 of an old URL, 413,
 * 415, 429 …) within 10 minutes produces one notice to the room's administrators, at most once an
 * hour, across nodes. Failures are counted in the database per webhook and minute (written with the
 * log rows, so every node's failures add up); after each write, a node that added failures sums the
 * webhook's last 10 minutes and, at the threshold, claims the notice with a conditional upsert that
 * succeeds only if the webhook's last notice is more than an hour old (webhook-ops-store.ts). The
 * node whose claim succeeds publishes a `webhook.failing` event with the administrators' ids; every
 * node's gateway sends the frame to their sockets.
 */
import type { IncomingHttpHeaders } from 'node:http';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { Counter, type Registry } from 'prom-client';
import type { DeliveryFormat, WebhookDelivery } from '../../shared/api-types.js';
import type { Clock, EventSink } from '../services/context.js';
import { orderedId } from '../ids.js';
import type { DeliveryRecord, FailureTally } from '../store/webhook-ops-store.js';
import type { Store } from '../store/types.js';

export const DELIVERY_LOG_SIZE = 100;
export const FAILURE_THRESHOLD = 20;
export const FAILURE_WINDOW_MINUTES = 10;
export const NOTICE_GAP_MS = 60 * 60 * 1000;

/** The header the "Send test message" request carries (an id only this process knows; any other value is ignored). */
export const TEST_DELIVERY_HEADER = 'x-carillon-test-delivery';

const FORMATS: ReadonlySet<string> = new Set(['slack', 'sns', 'alertmanager', 'grafana', 'github']);

interface Tag {
  webhookId: string;
  format?: DeliveryFormat;
  messageId?: string;
}

/** Keyed by the request: Fastify's, or the fast path's call (fast-path.ts). */
const tags = new WeakMap<object, Tag>();

/** The request authenticated as this webhook (or proved it was for it: an old token's 404): its answer goes to the webhook's log. */
export function attributeDelivery(req: object, webhookId: string): void {
  const tag = tags.get(req);
  if (tag) tag.webhookId = webhookId;
  else tags.set(req, { webhookId });
}

/** The format of the request, when the route's last path segment does not say it (/slack, /sns, … are found by themselves). */
export function setDeliveryFormat(req: FastifyRequest, format: DeliveryFormat): void {
  const tag = tags.get(req);
  if (tag) tag.format = format;
}

/** The message the request stored or updated. */
export function setDeliveryMessage(req: object, messageId: string): void {
  const tag = tags.get(req);
  if (tag) tag.messageId = messageId;
}

export function presentDelivery(d: DeliveryRecord): WebhookDelivery {
  return { id: d.id, at: d.at, status: d.status, code: d.code, bytes: d.bytes, latencyMs: d.latencyMs, messageId: d.messageId, format: d.format };
}

/** The part of a logger the log uses. */
export interface DeliveryLogLogger {
  warn(obj: object, msg?: string): void;
  info(obj: object, msg?: string): void;
}

export interface DeliveryLogOptions {
  store: Store;
  clock: Clock;
  events: EventSink;
  logger: DeliveryLogLogger;
  /** How long a row may wait in memory (default 200 ms). */
  flushIntervalMs?: number;
  /**
   * Rows that start a write at once (default 1,000). Each write also trims every webhook in it to its
   * newest 100 rows (two statements per webhook, on the event loop): at 100 rows a write, that was
   * about one statement per post under load (issue 16's profile); the 200 ms bound holds either way.
   */
  flushAtRows?: number;
  /** Rows kept in memory at most; more are dropped (default 10 000). */
  maxQueued?: number;
  /** Where to register carillon_webhook_log_rows_total and carillon_webhook_failure_notices_total. */
  registry?: Registry;
}

export class DeliveryLog {
  private queue: DeliveryRecord[] = [];
  private timer: NodeJS.Timeout | undefined;
  private writing: Promise<void> | undefined;
  private closed = false;
  /** Rows dropped because the queue was full or the write failed. */
  dropped = 0;
  /** Per webhook: until when this node need not check for a notice (it made one, or another node did). */
  private readonly quietUntil = new Map<string, number>();
  private lastPrunedMinute = 0;
  /** "Send test message" requests in flight, by the id their header carries. */
  private readonly tests = new Map<string, (d: DeliveryRecord | null) => void>();
  private readonly flushIntervalMs: number;
  private readonly flushAtRows: number;
  private readonly maxQueued: number;
  private readonly metrics: { rows: Counter | undefined; notices: Counter | undefined };

  constructor(private readonly options: DeliveryLogOptions) {
    this.flushIntervalMs = options.flushIntervalMs ?? 200;
    this.flushAtRows = options.flushAtRows ?? 1_000;
    this.maxQueued = options.maxQueued ?? 10_000;
    const registers = options.registry ? [options.registry] : [];
    this.metrics = {
      rows: options.registry
        ? new Counter({ name: 'carillon_webhook_log_rows_total', help: 'Webhook delivery log rows, by outcome: written or dropped', labelNames: ['outcome'], registers })
        : undefined,
      notices: options.registry ? new Counter({ name: 'carillon_webhook_failure_notices_total', help: 'Webhook failure notices made by this node', registers }) : undefined,
    };
  }

  /** The onResponse hook of every webhook route: the answer is sent; queue its row. Costs no I/O. */
  record(req: FastifyRequest, reply: FastifyReply, code: string | undefined): void {
    const length = Number(req.headers['content-length']);
    this.recordAnswer(req, {
      headers: req.headers,
      status: reply.statusCode,
      bytes: Buffer.isBuffer(req.body) ? req.body.length : Number.isFinite(length) && length >= 0 ? length : 0,
      latencyMs: reply.elapsedTime,
      route: req.routeOptions.url,
    }, code);
  }

  /** The same for any answered request (`call`: the key attributeDelivery was given): also the fast path's (fast-path.ts). */
  recordAnswer(
    call: object,
    answer: { headers: IncomingHttpHeaders; status: number; bytes: number; latencyMs: number; route: string | undefined },
    code: string | undefined,
  ): void {
    const tag = tags.get(call);
    const testId = answer.headers[TEST_DELIVERY_HEADER];
    const test = typeof testId === 'string' ? this.tests.get(testId) : undefined;
    if (!tag) {
      test?.(null);
      return;
    }
    const status = answer.status;
    const row: DeliveryRecord = {
      id: orderedId(this.options.clock.now()),
      webhookId: tag.webhookId,
      at: this.options.clock.now(),
      status,
      code: status === 200 ? null : (code ?? null),
      bytes: answer.bytes,
      latencyMs: Math.round(answer.latencyMs * 1000) / 1000,
      messageId: status === 200 ? (tag.messageId ?? null) : null,
      format: test ? 'test' : (tag.format ?? formatOfRoute(answer.route)),
    };
    test?.(row);
    if (this.closed) return;
    if (this.queue.length >= this.maxQueued) {
      this.dropped++;
      this.metrics.rows?.inc({ outcome: 'dropped' });
      return;
    }
    this.queue.push(row);
    if (this.queue.length >= this.flushAtRows) setImmediate(() => void this.flush());
    else if (!this.timer) {
      this.timer = setTimeout(() => void this.flush(), this.flushIntervalMs);
      this.timer.unref();
    }
  }

  /**
   * Registers a "Send test message" request: its id goes in the TEST_DELIVERY_HEADER header, and
   * `delivery` settles with its row once it is answered (null when it was not attributed to a webhook).
   */
  expectTest(): { id: string; delivery: Promise<DeliveryRecord | null>; cancel: () => void } {
    const id = orderedId(this.options.clock.now()) + Math.random().toString(36).slice(2);
    const delivery = new Promise<DeliveryRecord | null>((resolve) => {
      this.tests.set(id, (d) => {
        this.tests.delete(id);
        resolve(d);
      });
    });
    return { id, delivery, cancel: () => this.tests.get(id)?.(null) };
  }

  /** Writes what is queued (and waits for a write in progress). */
  async flush(): Promise<void> {
    while (this.writing) await this.writing;
    if (this.timer) {
      clearTimeout(this.timer);
      this.timer = undefined;
    }
    if (this.queue.length === 0) return;
    const rows = this.queue;
    this.queue = [];
    this.writing = this.write(rows).finally(() => {
      this.writing = undefined;
    });
    await this.writing;
  }

  private async write(rows: DeliveryRecord[]): Promise<void> {
    const tallies = tally(rows);
    try {
      await this.options.store.webhookOps.recordDeliveries(rows, tallies, DELIVERY_LOG_SIZE);
    } catch (err) {
      this.dropped += rows.length;
      this.metrics.rows?.inc({ outcome: 'dropped' }, rows.length);
      this.options.logger.warn({ err, rows: rows.length }, 'webhook delivery log: rows could not be written and were dropped');
      return;
    }
    this.metrics.rows?.inc({ outcome: 'written' }, rows.length);
    const now = this.options.clock.now();
    for (const webhookId of new Set(tallies.map((t) => t.webhookId))) {
      try {
        await this.checkFailing(webhookId, now);
      } catch (err) {
        this.options.logger.warn({ err, webhookId }, 'webhook failure notice: check failed');
      }
    }
    const minute = minuteOf(now);
    if (minute !== this.lastPrunedMinute) {
      this.lastPrunedMinute = minute;
      await this.options.store.webhookOps.pruneFailures(minute - FAILURE_WINDOW_MINUTES).catch(() => {});
    }
  }

  /** After failures of this webhook were written: a notice when the last 10 minutes hold 20, unless one was made within the hour. */
  private async checkFailing(webhookId: string, now: number): Promise<void> {
    if ((this.quietUntil.get(webhookId) ?? 0) > now) return;
    const { store } = this.options;
    const window = await store.webhookOps.failureWindow(webhookId, minuteOf(now) - (FAILURE_WINDOW_MINUTES - 1));
    if (!window || window.failures < FAILURE_THRESHOLD) return;
    const webhook = await store.getWebhook(webhookId);
    if (!webhook || webhook.deletedAt !== null) return;
    const claimed = await store.webhookOps.claimNotice(
      {
        webhookId,
        roomId: webhook.roomId,
        notifiedAt: now,
        since: window.since,
        failures: window.failures,
        lastStatus: window.lastStatus,
        lastCode: window.lastCode,
      },
      NOTICE_GAP_MS,
    );
    // Not claimed: another node (or an earlier write) made this hour's notice; look again in a minute.
    if (this.quietUntil.size >= 10_000) this.quietUntil.clear();
    this.quietUntil.set(webhookId, now + (claimed ? NOTICE_GAP_MS : 60_000));
    if (!claimed) return;
    this.metrics.notices?.inc();
    const members = await store.listMembers(webhook.roomId);
    const adminUserIds = members.filter((m) => m.role === 'administrator').map((m) => m.user.id);
    this.options.logger.info(
      { webhookId, roomId: webhook.roomId, failures: window.failures, lastStatus: window.lastStatus, lastCode: window.lastCode },
      'webhook failing: notice sent to the room administrators',
    );
    this.options.events.publish({
      type: 'webhook.failing',
      adminUserIds,
      frame: {
        type: 'webhook.failing',
        roomId: webhook.roomId,
        webhookId,
        webhookName: webhook.name,
        failures: window.failures,
        windowMinutes: FAILURE_WINDOW_MINUTES,
        lastStatus: window.lastStatus,
        lastCode: window.lastCode ?? String(window.lastStatus),
        at: now,
      },
    });
  }

  /** Writes what is queued and stops taking rows (graceful shutdown). */
  async close(): Promise<void> {
    await this.flush();
    this.closed = true;
    for (const settle of [...this.tests.values()]) settle(null);
  }
}

const minuteOf = (ms: number) => Math.floor(ms / 60_000);

const isFailure = (status: number) => status >= 400 && status < 500;

/** The 4xx answers of a batch, per webhook and minute. */
function tally(rows: readonly DeliveryRecord[]): FailureTally[] {
  const out = new Map<string, FailureTally>();
  for (const r of rows) {
    if (!isFailure(r.status)) continue;
    const minute = minuteOf(r.at);
    const key = `${r.webhookId}/${minute}`;
    const t = out.get(key);
    if (!t) {
      out.set(key, { webhookId: r.webhookId, minute, failures: 1, firstAt: r.at, lastAt: r.at, lastStatus: r.status, lastCode: r.code });
      continue;
    }
    t.failures++;
    t.firstAt = Math.min(t.firstAt, r.at);
    if (r.at >= t.lastAt) {
      t.lastAt = r.at;
      t.lastStatus = r.status;
      t.lastCode = r.code;
    }
  }
  return [...out.values()];
}

/** 'slack', 'sns', … from the matched route (`/incomingwebhooks/:webhookId/slack`); 'chime' otherwise. */
function formatOfRoute(route: string | undefined): DeliveryFormat {
  const url = (route ?? '').replace(/\/$/, '');
  const last = url.slice(url.lastIndexOf('/') + 1);
  return FORMATS.has(last) ? (last as DeliveryFormat) : 'chime';
}
