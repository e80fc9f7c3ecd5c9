/**
 * Webhook operations in the store (issue 15, migration 0008): each webhook's delivery log (its last
 * LIMITS.webhookDeliveryLogSize attempts), per-minute failure counts, the failure notice claim, and
 * the rooms' audit trail of webhook changes. Reached as `store.webhookOps`, like `store.push`.
 *
 * Writes of the delivery log and the failure counts are diagnostics: on SQLite they are committed
 * with `synchronous = NORMAL` (no fsync of their own, so a flush never holds the write lock over a
 * disk sync while messages wait; a power cut may lose the newest rows), by the writer thread beside
 * the messages (DeliveryLogWriter, sqlite-append-worker.ts), or without that thread on a connection
 * of their own. The notice claim and the audit trail use the store's main connection (fsynced).
 *
 * Notice claims across nodes: one conditional upsert per webhook (`… on conflict do update … where
 * notified_at <= now - 1 h returning …`), atomic on PostgreSQL and on SQLite, so of any number of
 * nodes crossing the threshold in the same hour exactly one gets the row back and sends the notice.
 */
import { type Kysely, sql } from './kysely.js';
import type { Database, WebhookDeliveriesTable } from './schema.js';

export type DeliveryFormatName = 'chime' | 'slack' | 'sns' | 'alertmanager' | 'grafana' | 'github' | 'test';

/** One attempt on an authenticated webhook URL, as logged (never a token, never a body). */
export interface DeliveryRecord {
  id: string;
  webhookId: string;
  /** When it was answered (epoch ms). */
  at: number;
  status: number;
  /** The error Code of the answer; null for a 200. */
  code: string | null;
  /** Size of the request body in bytes (as declared by Content-Length when it was not read). */
  bytes: number;
  latencyMs: number;
  /** The message the attempt stored or updated; null when it stored nothing. */
  messageId: string | null;
  format: DeliveryFormatName;
}

/** Failures (4xx answers) of one webhook in one minute, as a flush adds them. */
export interface FailureTally {
  webhookId: string;
  /** floor(at / 60 000) */
  minute: number;
  failures: number;
  firstAt: number;
  lastAt: number;
  lastStatus: number;
  lastCode: string | null;
}

/** The sum of a webhook's failure counts over a window, with the latest failure. */
export interface FailureWindow {
  failures: number;
  since: number;
  lastAt: number;
  lastStatus: number;
  lastCode: string | null;
}

export interface NoticeRecord {
  webhookId: string;
  roomId: string;
  notifiedAt: number;
  since: number;
  failures: number;
  lastStatus: number;
  lastCode: string | null;
}

export type AuditAction = 'webhook.created' | 'webhook.renamed' | 'webhook.regenerated' | 'webhook.deleted' | 'webhook.settings';

export interface AuditRecord {
  id: string;
  roomId: string;
  at: number;
  actor: { type: 'user' | 'server'; id: string | null; name: string };
  action: AuditAction;
  webhookId: string;
  webhookName: string;
  details: Record<string, unknown>;
}

export interface WebhookOpsStore {
  /**
   * Appends delivery rows and failure tallies in one transaction, then keeps only the newest `keep`
   * rows of each webhook named in `rows`. Rows of unknown or deleted webhooks are dropped.
   */
  recordDeliveries(rows: readonly DeliveryRecord[], tallies: readonly FailureTally[], keep: number): Promise<void>;
  /** A webhook's deliveries, newest first. */
  listDeliveries(webhookId: string, limit: number): Promise<DeliveryRecord[]>;
  /** The newest delivery of each of these webhooks (absent: none). */
  latestDeliveries(webhookIds: readonly string[]): Promise<Map<string, DeliveryRecord>>;
  /** The failures counted for a webhook in minutes ≥ `fromMinute`; null when none. */
  failureWindow(webhookId: string, fromMinute: number): Promise<FailureWindow | null>;
  /** Removes failure tallies of minutes before `beforeMinute` (all webhooks). */
  pruneFailures(beforeMinute: number): Promise<void>;
  /**
   * Records a notice for the webhook unless one was recorded after `notice.notifiedAt - minGapMs`:
   * true when this call recorded it (and so must send it), false when another did within the gap.
   */
  claimNotice(notice: NoticeRecord, minGapMs: number): Promise<boolean>;
  /** The room's notices recorded at or after `since`, by webhook id. */
  noticesSince(roomId: string, since: number): Promise<Map<string, NoticeRecord>>;
  /** Drops a deleted webhook's log, tallies and notice (its audit entries stay). */
  forgetWebhook(webhookId: string): Promise<void>;
  appendAudit(entry: AuditRecord): Promise<void>;
  /** The room's audit entries, newest first; `before`: only entries with a smaller id (the previous page's last). */
  listAudit(roomId: string, options: { before?: string | undefined; limit: number }): Promise<AuditRecord[]>;
}

/**
 * Writes delivery rows and failure tallies elsewhere than on a Kysely connection, with the same
 * results as KyselyWebhookOpsStore.recordDeliveries (SQLite: the writer thread, sqlite-appender.ts).
 */
export interface DeliveryLogWriter {
  recordDeliveries(rows: readonly DeliveryRecord[], tallies: readonly FailureTally[], keep: number): Promise<void>;
}

// ---- the Kysely implementation ----

const toDelivery = (r: WebhookDeliveriesTable): DeliveryRecord => ({
  id: r.id,
  webhookId: r.webhook_id,
  at: Number(r.at),
  status: Number(r.status),
  code: r.code,
  bytes: Number(r.bytes),
  latencyMs: Number(r.latency_us) / 1000,
  messageId: r.message_id,
  format: r.format as DeliveryFormatName,
});

const toNotice = (r: {
  webhook_id: string;
  room_id: string;
  notified_at: number;
  since: number;
  failures: number;
  last_status: number;
  last_code: string | null;
}): NoticeRecord => ({
  webhookId: r.webhook_id,
  roomId: r.room_id,
  notifiedAt: Number(r.notified_at),
  since: Number(r.since),
  failures: Number(r.failures),
  lastStatus: Number(r.last_status),
  lastCode: r.last_code,
});

/** Rows per INSERT statement (bounds the parameter count; SQLite allows 32 766). */
const ROWS_PER_INSERT = 200;

export class KyselyWebhookOpsStore implements WebhookOpsStore {
  constructor(
    /** The store's main connection (fsynced). */
    private readonly db: Kysely<Database>,
    /** Where the delivery log and failure tallies are written (SQLite: a connection without fsync per commit). */
    private readonly logDb: Kysely<Database>,
    private readonly translate: (e: unknown) => unknown,
    /** When set, recordDeliveries goes there instead of `logDb` (SQLite with its writer thread). */
    private readonly logWriter?: DeliveryLogWriter,
  ) {}

  private async run<T>(fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (e) {
      throw this.translate(e);
    }
  }

  recordDeliveries(rows: readonly DeliveryRecord[], tallies: readonly FailureTally[], keep: number): Promise<void> {
    if (rows.length === 0 && tallies.length === 0) return Promise.resolve();
    if (this.logWriter) return this.logWriter.recordDeliveries(rows, tallies, keep);
    return this.run(() =>
      this.logDb.transaction().execute(async (trx) => {
        const ids = [...new Set([...rows.map((r) => r.webhookId), ...tallies.map((t) => t.webhookId)])];
        const live = new Set(
          (await trx.selectFrom('webhooks').select('id').where('id', 'in', ids).where('deleted_at', 'is', null).execute()).map((r) => r.id),
        );
        const kept = rows.filter((r) => live.has(r.webhookId));
        for (let i = 0; i < kept.length; i += ROWS_PER_INSERT) {
          await trx
            .insertInto('webhook_deliveries')
            .values(
              kept.slice(i, i + ROWS_PER_INSERT).map((r) => ({
                id: r.id,
                webhook_id: r.webhookId,
                at: r.at,
                status: r.status,
                code: r.code,
                bytes: r.bytes,
                latency_us: Math.round(r.latencyMs * 1000),
                message_id: r.messageId,
                format: r.format,
              })),
            )
            .onConflict((oc) => oc.column('id').doNothing())
            .execute();
        }
        // Rows locked in one order (webhook, minute) by every node: two nodes' writes wait for each other, never deadlock.
        const ordered = [...tallies].sort((a, b) => (a.webhookId < b.webhookId ? -1 : a.webhookId > b.webhookId ? 1 : a.minute - b.minute));
        for (const t of ordered) {
          if (!live.has(t.webhookId)) continue;
          await trx
            .insertInto('webhook_failures')
            .values({
              webhook_id: t.webhookId,
              minute: t.minute,
              failures: t.failures,
              first_at: t.firstAt,
              last_at: t.lastAt,
              last_status: t.lastStatus,
              last_code: t.lastCode,
            })
            .onConflict((oc) =>
              oc.columns(['webhook_id', 'minute']).doUpdateSet({
                failures: sql`${sql.ref('webhook_failures.failures')} + ${sql.ref('excluded.failures')}`,
                first_at: sql`case when ${sql.ref('excluded.first_at')} < ${sql.ref('webhook_failures.first_at')} then ${sql.ref('excluded.first_at')} else ${sql.ref('webhook_failures.first_at')} end`,
                last_status: sql`case when ${sql.ref('excluded.last_at')} >= ${sql.ref('webhook_failures.last_at')} then ${sql.ref('excluded.last_status')} else ${sql.ref('webhook_failures.last_status')} end`,
                last_code: sql`case when ${sql.ref('excluded.last_at')} >= ${sql.ref('webhook_failures.last_at')} then ${sql.ref('excluded.last_code')} else ${sql.ref('webhook_failures.last_code')} end`,
                last_at: sql`case when ${sql.ref('excluded.last_at')} >= ${sql.ref('webhook_failures.last_at')} then ${sql.ref('excluded.last_at')} else ${sql.ref('webhook_failures.last_at')} end`,
              }),
            )
            .execute();
        }
        // The newest `keep` of each webhook stay: one index range scan and delete per webhook.
        for (const webhookId of [...new Set(kept.map((r) => r.webhookId))].sort()) {
          const cutoff = await trx
            .selectFrom('webhook_deliveries')
            .select('id')
            .where('webhook_id', '=', webhookId)
            .orderBy('id', 'desc')
            .offset(keep - 1)
            .limit(1)
            .executeTakeFirst();
          if (cutoff) await trx.deleteFrom('webhook_deliveries').where('webhook_id', '=', webhookId).where('id', '<', cutoff.id).execute();
        }
      }),
    );
  }

  listDeliveries(webhookId: string, limit: number): Promise<DeliveryRecord[]> {
    return this.run(async () =>
      (await this.db.selectFrom('webhook_deliveries').selectAll().where('webhook_id', '=', webhookId).orderBy('id', 'desc').limit(limit).execute()).map(toDelivery),
    );
  }

  latestDeliveries(webhookIds: readonly string[]): Promise<Map<string, DeliveryRecord>> {
    return this.run(async () => {
      const out = new Map<string, DeliveryRecord>();
      // A room has at most 10 webhooks: one indexed read each.
      for (const id of webhookIds) {
        const [latest] = await this.listDeliveries(id, 1);
        if (latest) out.set(id, latest);
      }
      return out;
    });
  }

  failureWindow(webhookId: string, fromMinute: number): Promise<FailureWindow | null> {
    return this.run(async () => {
      const rows = await this.db
        .selectFrom('webhook_failures')
        .selectAll()
        .where('webhook_id', '=', webhookId)
        .where('minute', '>=', fromMinute)
        .orderBy('minute')
        .execute();
      if (rows.length === 0) return null;
      let failures = 0;
      let since = Infinity;
      let last = rows[0]!;
      for (const r of rows) {
        failures += Number(r.failures);
        since = Math.min(since, Number(r.first_at));
        if (Number(r.last_at) >= Number(last.last_at)) last = r;
      }
      return { failures, since, lastAt: Number(last.last_at), lastStatus: Number(last.last_status), lastCode: last.last_code };
    });
  }

  pruneFailures(beforeMinute: number): Promise<void> {
    return this.run(async () => {
      await this.logDb.deleteFrom('webhook_failures').where('minute', '<', beforeMinute).execute();
    });
  }

  claimNotice(n: NoticeRecord, minGapMs: number): Promise<boolean> {
    return this.run(async () => {
      const r = await this.db
        .insertInto('webhook_notices')
        .values({
          webhook_id: n.webhookId,
          room_id: n.roomId,
          notified_at: n.notifiedAt,
          since: n.since,
          failures: n.failures,
          last_status: n.lastStatus,
          last_code: n.lastCode,
        })
        .onConflict((oc) =>
          oc
            .column('webhook_id')
            .doUpdateSet({
              notified_at: (eb) => eb.ref('excluded.notified_at'),
              since: (eb) => eb.ref('excluded.since'),
              failures: (eb) => eb.ref('excluded.failures'),
              last_status: (eb) => eb.ref('excluded.last_status'),
              last_code: (eb) => eb.ref('excluded.last_code'),
            })
            .where('webhook_notices.notified_at', '<=', n.notifiedAt - minGapMs),
        )
        .returning('webhook_id')
        .executeTakeFirst();
      return r !== undefined;
    });
  }

  noticesSince(roomId: string, since: number): Promise<Map<string, NoticeRecord>> {
    return this.run(async () => {
      const rows = await this.db.selectFrom('webhook_notices').selectAll().where('room_id', '=', roomId).where('notified_at', '>=', since).execute();
      return new Map(rows.map((r) => [r.webhook_id, toNotice(r)]));
    });
  }

  forgetWebhook(webhookId: string): Promise<void> {
    return this.run(async () => {
      await this.logDb.transaction().execute(async (trx) => {
        await trx.deleteFrom('webhook_deliveries').where('webhook_id', '=', webhookId).execute();
        await trx.deleteFrom('webhook_failures').where('webhook_id', '=', webhookId).execute();
      });
      await this.db.deleteFrom('webhook_notices').where('webhook_id', '=', webhookId).execute();
    });
  }

  appendAudit(e: AuditRecord): Promise<void> {
    return this.run(async () => {
      await this.db
        .insertInto('webhook_audit')
        .values({
          id: e.id,
          room_id: e.roomId,
          at: e.at,
          actor_type: e.actor.type,
          actor_id: e.actor.id,
          actor_name: e.actor.name,
          action: e.action,
          webhook_id: e.webhookId,
          webhook_name: e.webhookName,
          details: JSON.stringify(e.details),
        })
        .execute();
    });
  }

  listAudit(roomId: string, options: { before?: string | undefined; limit: number }): Promise<AuditRecord[]> {
    return this.run(async () => {
      let q = this.db.selectFrom('webhook_audit').selectAll().where('room_id', '=', roomId);
      if (options.before !== undefined) q = q.where('id', '<', options.before);
      const rows = await q.orderBy('id', 'desc').limit(options.limit).execute();
      return rows.map((r) => ({
        id: r.id,
        roomId: r.room_id,
        at: Number(r.at),
        actor: { type: r.actor_type === 'server' ? 'server' : 'user', id: r.actor_id, name: r.actor_name },
        action: r.action as AuditAction,
        webhookId: r.webhook_id,
        webhookName: r.webhook_name,
        details: JSON.parse(r.details) as Record<string, unknown>,
      }));
    });
  }
}
