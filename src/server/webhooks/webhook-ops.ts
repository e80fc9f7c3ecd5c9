/**
 * Webhook operations for room administrators (issue 15): a webhook's delivery log, "Send test
 * message", and the room's audit trail of webhook changes. The rules; routes/webhook-ops.ts is the
 * HTTP edge, delivery-log.ts records the attempts.
 */
import type { AuditEntry, WebhookDelivery, WebhookTestResult } from '../../shared/api-types.js';
import { AppError } from '../errors.js';
import { type Actor, requireRoomAdmin } from '../services/access.js';
import type { ServiceContext } from '../services/context.js';
import { DELIVERY_LOG_SIZE, type DeliveryLog, TEST_DELIVERY_HEADER, presentDelivery } from './delivery-log.js';
import type { WebhookService } from './webhook-service.js';

export const TEST_MESSAGE = 'Test message from Carillon: this webhook works.';

export const AUDIT_PAGE_DEFAULT = 50;
export const AUDIT_PAGE_MAX = 100;

/** One request into this server's own HTTP app (Fastify's inject): how a test message goes through the webhook's own pipeline. */
export type InjectPost = (request: { path: string; headers: Record<string, string>; body: string }) => Promise<{ statusCode: number }>;

/** How long "Send test message" waits for its row after the answer (the row is made as the answer completes). */
const TEST_ROW_WAIT_MS = 5_000;

export class WebhookOpsService {
  constructor(
    private readonly ctx: ServiceContext,
    private readonly webhooks: WebhookService,
    private readonly log: DeliveryLog,
    private readonly inject: InjectPost,
  ) {}

  /** The webhook's last 100 attempts, newest first (this node's queued rows written first). */
  async deliveries(actor: Actor, roomId: string, webhookId: string): Promise<WebhookDelivery[]> {
    await requireRoomAdmin(this.ctx.store, actor, roomId, 'see webhook delivery logs');
    await this.webhooks.liveInRoom(roomId, webhookId);
    await this.log.flush();
    return (await this.ctx.store.webhookOps.listDeliveries(webhookId, DELIVERY_LOG_SIZE)).map(presentDelivery);
  }

  /**
   * Posts TEST_MESSAGE to the webhook through its own URL, inside this server: the same checks, rate
   * limit (the test spends a token; a throttled test answers its 429 in `delivery`), settings and
   * store as any post, logged with format 'test'. `messageId` is null when the post was refused.
   */
  async sendTest(actor: Actor, roomId: string, webhookId: string): Promise<WebhookTestResult> {
    await requireRoomAdmin(this.ctx.store, actor, roomId, 'send test messages');
    const w = await this.webhooks.liveInRoom(roomId, webhookId);
    const token = new URL(this.webhooks.urlOf(w)).searchParams.get('token') ?? '';
    const test = this.log.expectTest();
    let timer: NodeJS.Timeout | undefined;
    try {
      await this.inject({
        path: `/incomingwebhooks/${w.id}?token=${token}`,
        headers: { 'content-type': 'application/json', [TEST_DELIVERY_HEADER]: test.id },
        body: JSON.stringify({ Content: TEST_MESSAGE }),
      });
      timer = setTimeout(test.cancel, TEST_ROW_WAIT_MS);
      const row = await test.delivery;
      // Not attributed: the webhook was deleted or regenerated between the check and the post.
      if (!row) throw new AppError('NotFound', 'The webhook was deleted or its URL regenerated while the test message was sent; list the room\'s webhooks and try again.');
      return { messageId: row.messageId, delivery: presentDelivery(row) };
    } finally {
      clearTimeout(timer);
      test.cancel();
    }
  }

  /** The room's audit trail of webhook changes, newest first; `before`: the last id of the previous page. */
  async audit(actor: Actor, roomId: string, page: { before?: string | undefined; limit?: number | undefined }): Promise<AuditEntry[]> {
    await requireRoomAdmin(this.ctx.store, actor, roomId, 'see the audit trail');
    const limit = Math.min(page.limit ?? AUDIT_PAGE_DEFAULT, AUDIT_PAGE_MAX);
    const rows = await this.ctx.store.webhookOps.listAudit(roomId, { before: page.before, limit });
    return rows.map((r) => ({ id: r.id, at: r.at, actor: r.actor, action: r.action, webhookId: r.webhookId, webhookName: r.webhookName, details: r.details }));
  }
}
