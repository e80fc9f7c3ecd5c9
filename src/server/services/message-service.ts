/**
 * The one path every message takes, from a member or a webhook (STYLE: Mattermost's incoming
 * webhook goes through the same post path as a human message): content rules, rendering and
 * mentions, the store's gap-free seq, then the event for live delivery.
 */
import type { Mentions, MessageSender } from '../../shared/api-types.js';
import { LIMITS } from '../../shared/limits.js';
import { AppError } from '../errors.js';
import { orderedId } from '../ids.js';
import { renderMessage } from '../render/index.js';
import { type AppendOptions, type IdempotentPost, type MessagePage, type MessageRecord, StoreGuardError, type UserRecord } from '../store/types.js';
import { requireMember, roomNotFound } from './access.js';
import { checkContentSize, checkContentValue } from './content.js';
import { PresenceUnavailableError, type ServiceContext } from './context.js';
import { readAfterOwnPost } from './read-state.js';

/** The webhook a post comes from, as authenticated by the webhook endpoint. */
export interface WebhookSender {
  id: string;
  roomId: string;
  name: string;
  generation: number;
  /** Its rate limit (issue 15): the webhook's own settings within the server's maximums, or the defaults. */
  limits?: { ratePerSecond: number; burst: number };
  /** false: posts using @All or @Present are refused with 400 BroadcastNotAllowed (issue 15). Default true. */
  allowBroadcastMentions?: boolean;
}

/** How a webhook post is stored, beyond its content. */
export interface WebhookPostOptions {
  /**
   * The Idempotency-Key header (issue 15, already checked): a post with a key this webhook stored
   * in the last 24 hours stores nothing and throws IdempotentRepeatError (store/types.ts) with it.
   */
  idempotencyKey?: string | undefined;
}

export interface ListQuery {
  after?: number | undefined;
  before?: number | undefined;
  limit?: number | undefined;
}

export class MessageService {
  constructor(private readonly ctx: ServiceContext) {}

  async postAsUser(actor: UserRecord, roomId: string, content: string): Promise<MessageRecord> {
    await requireMember(this.ctx.store, actor, roomId);
    const message = await this.post(roomId, { type: 'user', id: actor.id, name: actor.displayName }, content);
    // The post marked the room read up to it for its author (in the storing transaction): their
    // other devices clear the room's badge.
    this.ctx.events.publish({ type: 'read.changed', userId: actor.id, state: readAfterOwnPost(roomId, message.seq) });
    return message;
  }

  postAsWebhook(webhook: WebhookSender, content: string, options: WebhookPostOptions = {}): Promise<MessageRecord> {
    return this.post(webhook.roomId, { type: 'webhook', id: webhook.id, name: webhook.name }, content, webhook, options);
  }

  /**
   * A webhook post with a key (issue 14; `"Key"` or X-Carillon-Key): updates that webhook's
   * earlier message with the same key in place (shown as edited; only mentions it adds alert),
   * or posts a new one that carries the key. The answer names the message either way.
   */
  async postKeyedAsWebhook(webhook: WebhookSender, content: string, key: string, options: WebhookPostOptions = {}): Promise<MessageRecord> {
    const sender: MessageSender = { type: 'webhook', id: webhook.id, name: webhook.name };
    const prepared = await this.prepare(webhook.roomId, content, webhook);
    const at = this.ctx.clock.now();
    const outcome = await this.guarded(() =>
      this.ctx.store.postKeyed(
        { id: orderedId(at), roomId: webhook.roomId, sender, content, ...prepared, createdAt: at },
        key,
        { content, ...prepared, at },
        { ...this.broadcastGuard(prepared.mentions), webhook: { id: webhook.id, generation: webhook.generation }, ...this.idempotency(options, at) },
      ),
    );
    if (outcome.kind === 'created') this.ctx.events.publish({ type: 'message.created', message: outcome.message });
    else if (outcome.kind === 'updated') this.ctx.events.publish({ type: 'message.changed', event: outcome.event });
    return outcome.kind === 'updated' ? outcome.event.message : outcome.message;
  }

  /**
   * Content rules, rendering and mentions, shared by new posts and edits: what the store keeps
   * beside the content. Throws the content errors (413, 400) and, for @Present, 503 when presence is unknown.
   */
  async prepare(roomId: string, content: string, webhook?: WebhookSender): Promise<{ html: string; mentions: Mentions; presentAtPost?: string[] }> {
    checkContentSize(content);
    checkContentValue(content);
    // Members matter to rendering only through mentions, which always start with an ASCII "@"
    // (render/mentions.ts): most alert posts have none, and reading the members was one of the
    // costliest steps of a webhook post (issue 7), so it is skipped for them; the HTML is identical.
    const members = content.includes('@') ? await this.ctx.store.listMembers(roomId) : [];
    const { html, mentions } = renderMessage(
      content,
      members.map((m) => ({ userId: m.user.id, alias: m.user.alias, email: m.user.email, displayName: m.user.displayName })),
    );
    // A webhook whose settings refuse @All / @Present (issue 15), decided from the rendered mentions
    // (so never inside code or URLs), before @Present asks who is present.
    if (webhook?.allowBroadcastMentions === false && (mentions.all || mentions.present)) {
      throw new AppError(
        'BroadcastNotAllowed',
        `This webhook may not use ${mentions.all ? '@All' : '@Present'}: a room administrator turned @All and @Present off in its settings. Mention people by @alias instead, or ask them to allow it.`,
      );
    }
    // @Present alerts "every member present when it was posted" (SPEC 4): the snapshot is taken now
    // and stored with the message, so a replay days later alerts exactly whom the live delivery did.
    const presentAtPost = mentions.present ? [...(await this.presentEverywhere(roomId))].sort() : undefined;
    return { html, mentions, ...(presentAtPost ? { presentAtPost } : {}) };
  }

  /** Chime refuses @All/@Present in rooms of more than 50 members; the count is read in the storing transaction. */
  broadcastGuard(mentions: Mentions): { maxMembers?: number } {
    return mentions.all || mentions.present ? { maxMembers: LIMITS.broadcastMentionMaxMembers } : {};
  }

  /** Runs a store write, turning its guard refusals into the answers callers get. */
  async guarded<T>(write: () => Promise<T>): Promise<T> {
    try {
      return await write();
    } catch (e) {
      if (e instanceof StoreGuardError) {
        if (e.reason === 'too_many_members') {
          throw new AppError(
            'TooManyMembers',
            `@All and @Present can only be used in rooms of at most ${LIMITS.broadcastMentionMaxMembers} members; this room has ${e.detail}. Mention people by @alias instead.`,
          );
        }
        if (e.reason === 'webhook_gone') {
          throw new AppError('WebhookNotFound', 'This webhook was deleted or its URL was regenerated; ask a room administrator for the new URL.');
        }
        if (e.reason === 'not_found') throw roomNotFound();
      }
      throw e;
    }
  }

  /** The post this webhook stored with this Idempotency-Key in the last 24 hours, if any (issue 15). */
  idempotentPost(webhook: WebhookSender, key: string): Promise<IdempotentPost | null> {
    return this.ctx.store.findIdempotentPost(webhook.id, key, this.ctx.clock.now() - LIMITS.idempotencyKeyTtlHours * 3_600_000);
  }

  /** The store's idempotency option for a post with an Idempotency-Key at `at`: keys older than 24 hours are expired. */
  private idempotency(options: WebhookPostOptions, at: number): Pick<AppendOptions, 'idempotency'> {
    if (options.idempotencyKey === undefined) return {};
    return { idempotency: { key: options.idempotencyKey, expiredAt: at - LIMITS.idempotencyKeyTtlHours * 3_600_000 } };
  }

  private async post(roomId: string, sender: MessageSender, content: string, webhook?: WebhookSender, options: WebhookPostOptions = {}): Promise<MessageRecord> {
    const prepared = await this.prepare(roomId, content, webhook);
    const at = this.ctx.clock.now();
    const message = await this.guarded(() =>
      this.ctx.store.appendMessage(
        { id: orderedId(at), roomId, sender, content, ...prepared, createdAt: at },
        {
          ...this.broadcastGuard(prepared.mentions),
          ...(webhook ? { webhook: { id: webhook.id, generation: webhook.generation }, ...this.idempotency(options, at) } : {}),
          // A member's post is read by its author: raised in the same transaction, so no extra commit.
          ...(sender.type === 'user' ? { markReadBy: sender.id } : {}),
        },
      ),
    );
    this.ctx.events.publish({ type: 'message.created', message });
    return message;
  }

  /** Who is present on every node, for @Present; refused (503) rather than guessed when that is unknown. */
  private async presentEverywhere(roomId: string): Promise<ReadonlySet<string>> {
    try {
      return await this.ctx.presence.presentUserIds(roomId, { complete: true });
    } catch (e) {
      if (!(e instanceof PresenceUnavailableError)) throw e;
      // RELIABILITY D-6: with Redis away, @Present would alert only the people on this node.
      throw new AppError(
        'ServiceUnavailable',
        '@Present needs to know who is present on every server, which is unavailable right now; retry after the time in Retry-After, or use @All.',
        { retryAfterS: 5 },
      );
    }
  }

  async list(actor: UserRecord, roomId: string, query: ListQuery): Promise<MessageRecord[]> {
    await requireMember(this.ctx.store, actor, roomId);
    if (query.after !== undefined && query.before !== undefined) {
      throw new AppError('InvalidRequest', 'Use either after or before, not both.');
    }
    const page: MessagePage = { limit: query.limit ?? LIMITS.messagePageDefault };
    if (query.after !== undefined) page.after = query.after;
    if (query.before !== undefined) page.before = query.before;
    return this.ctx.store.listMessages(roomId, page);
  }
}
