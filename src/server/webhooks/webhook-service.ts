/**
 * Webhooks: management by room administrators (SPEC 2.5) and authentication of webhook URLs for the
 * endpoint (SPEC 2.1, 2.3). Free of HTTP: it throws AppError codes and the edge maps them.
 */
import { randomUUID } from 'node:crypto';
import type { WebhookWithUrl } from '../../shared/api-types.js';
import { LIMITS } from '../../shared/limits.js';
import { AppError } from '../errors.js';
import { type Actor, isServer, requireRoomAdmin, roomNotFound } from '../services/access.js';
import { codePointLength } from '../services/content.js';
import type { ServiceContext } from '../services/context.js';
import type { WebhookSender } from '../services/message-service.js';
import { StoreConflictError, StoreGuardError, type WebhookRecord } from '../store/types.js';
import { deriveToken, isTokenShaped, isWebhookId, tokensEqual, webhookUrl } from './tokens.js';

/**
 * How many earlier generations are checked to tell an old (regenerated) token, answered 404, from a
 * wrong one, answered 403. Bounds the work an unauthenticated request can cause.
 */
export const OLD_GENERATIONS_CHECKED = 256;

const CONTROL = /\p{Cc}/u;

/** Webhooks whose current token is kept derived (a room has at most 10; this covers 1,000 busy rooms). */
const TOKEN_CACHE_SIZE = 10_000;

/**
 * How long an authenticated webhook is trusted without reading it again (RELIABILITY D-9: cache
 * staleness ≤ 1 s, fail closed). Safe because the store checks the webhook's generation again in
 * the transaction that stores the message: a URL deleted or regenerated meanwhile (on another node;
 * this node forgets at once) still stores nothing and gets its 404. Only a rename made on another
 * node can show its old sender name for this long.
 */
export const LIVE_WEBHOOK_TTL_MS = 1000;

export const invalidWebhook = (why: string) => new AppError('InvalidWebhook', why);

/** One message for "no such id" and "wrong token", so the answer reveals nothing about which ids exist. */
const NO_MATCH = 'This webhook URL does not match any webhook: copy the whole URL again from the room\'s Manage webhooks dialog, or ask a room administrator for it.';

export const webhookGone = () =>
  new AppError('WebhookNotFound', 'This webhook was deleted or its URL was regenerated; ask a room administrator of the room for the new URL.');

const webhookNotInRoom = () => new AppError('NotFound', 'No such webhook in this room (it may have been deleted); list the room\'s webhooks to find its id.');

export class WebhookService {
  constructor(
    private readonly ctx: ServiceContext,
    private readonly secret: Buffer,
  ) {
    if (secret.length < 16) throw new Error('the server secret is too short to derive webhook tokens');
  }

  /** Webhooks that authenticated recently, by id, with their current token (bounded like tokenCache). */
  private readonly liveCache = new Map<string, { sender: WebhookSender; token: string; until: number }>();

  /** This node changed the webhook: its next post reads it from the store again. */
  private forget(webhookId: string): void {
    this.liveCache.delete(webhookId);
  }

  /** Tokens of live webhooks at their current generation, by `id/generation` (bounded; see currentToken). */
  private readonly tokenCache = new Map<string, string>();

  /**
   * The token of a live webhook's current generation, derived once: deriving (two HMACs and a
   * base-62 conversion) was a noticeable part of every webhook post (issue 7). Only ids found in the
   * store get here, and the secret they come from is in memory anyway. A regenerated URL has a new
   * key, so an old entry is never used again; the map is simply emptied when full.
   */
  private currentToken(id: string, generation: number): string {
    const key = `${id}/${generation}`;
    let token = this.tokenCache.get(key);
    if (token === undefined) {
      token = deriveToken(this.secret, id, generation);
      if (this.tokenCache.size >= TOKEN_CACHE_SIZE) this.tokenCache.clear();
      this.tokenCache.set(key, token);
    }
    return token;
  }

  /** The URL of a webhook at its current generation. */
  urlOf(webhook: Pick<WebhookRecord, 'id' | 'generation'>): string {
    return webhookUrl(this.ctx.config.publicUrl, webhook.id, deriveToken(this.secret, webhook.id, webhook.generation));
  }

  private present(w: WebhookRecord): WebhookWithUrl {
    return { id: w.id, name: w.name, url: this.urlOf(w), createdAt: w.createdAt };
  }

  async create(actor: Actor, roomId: string, name: string): Promise<WebhookWithUrl> {
    await requireRoomAdmin(this.ctx.store, actor, roomId, 'create webhooks');
    const clean = checkName(name);
    const record: WebhookRecord = {
      id: randomUUID(),
      roomId,
      name: clean,
      generation: 1,
      createdBy: isServer(actor) ? 'server' : actor.id,
      createdAt: this.ctx.clock.now(),
      deletedAt: null,
    };
    let created: WebhookRecord;
    try {
      created = await this.ctx.store.createWebhook(record, LIMITS.webhooksPerRoom);
    } catch (e) {
      if (e instanceof StoreGuardError && e.reason === 'webhook_limit') {
        // Chime: "You can create up to 10 webhooks for each chat room."
        throw new AppError(
          'WebhookLimitExceeded',
          `A room can have at most ${LIMITS.webhooksPerRoom} webhooks and this one has ${e.detail}; delete a webhook you no longer use first.`,
        );
      }
      if (e instanceof StoreGuardError && e.reason === 'not_found') throw roomNotFound();
      throw nameConflict(e, clean);
    }
    this.ctx.events.publish({ type: 'webhooks.changed', roomId });
    return this.present(created);
  }

  async list(actor: Actor, roomId: string): Promise<WebhookWithUrl[]> {
    await requireRoomAdmin(this.ctx.store, actor, roomId, 'see webhook URLs');
    return (await this.ctx.store.listWebhooks(roomId)).map((w) => this.present(w));
  }

  async rename(actor: Actor, roomId: string, webhookId: string, name: string): Promise<WebhookWithUrl> {
    await requireRoomAdmin(this.ctx.store, actor, roomId, 'rename webhooks');
    const clean = checkName(name);
    await this.liveInRoom(roomId, webhookId);
    let renamed: WebhookRecord | null;
    try {
      renamed = await this.ctx.store.renameWebhook(webhookId, clean);
    } catch (e) {
      throw nameConflict(e, clean);
    }
    this.forget(webhookId);
    if (!renamed) throw webhookNotInRoom();
    this.ctx.events.publish({ type: 'webhooks.changed', roomId });
    return this.present(renamed);
  }

  /** A new URL for the same webhook: the generation goes up and the old URL answers 404. */
  async regenerate(actor: Actor, roomId: string, webhookId: string): Promise<WebhookWithUrl> {
    await requireRoomAdmin(this.ctx.store, actor, roomId, 'regenerate webhook URLs');
    await this.liveInRoom(roomId, webhookId);
    const bumped = await this.ctx.store.regenerateWebhook(webhookId);
    this.forget(webhookId);
    if (!bumped) throw webhookNotInRoom();
    this.ctx.events.publish({ type: 'webhooks.changed', roomId });
    return this.present(bumped);
  }

  /** Deletes to a tombstone, so the webhook's once-valid URLs answer 404 rather than 403. */
  async delete(actor: Actor, roomId: string, webhookId: string): Promise<void> {
    await requireRoomAdmin(this.ctx.store, actor, roomId, 'delete webhooks');
    await this.liveInRoom(roomId, webhookId);
    const deleted = await this.ctx.store.deleteWebhook(webhookId, this.ctx.clock.now());
    this.forget(webhookId);
    if (!deleted) throw webhookNotInRoom();
    this.ctx.events.publish({ type: 'webhooks.changed', roomId });
  }

  private async liveInRoom(roomId: string, webhookId: string): Promise<WebhookRecord> {
    const w = await this.ctx.store.getWebhook(webhookId);
    if (!w || w.roomId !== roomId || w.deletedAt !== null) throw webhookNotInRoom();
    return w;
  }

  /**
   * Who a webhook URL belongs to (SPEC 2.3, first check). Malformed, unknown or wrong → 403
   * InvalidWebhook; a token that was valid for this id at an earlier generation, or any once-valid
   * token of a deleted webhook → 404 WebhookNotFound, as Chime answered for deleted and regenerated
   * URLs. The store checks the generation again inside the storing transaction, so a URL
   * regenerated between this check and the commit still stores nothing.
   */
  async authenticate(id: string, token: unknown): Promise<WebhookSender> {
    if (!isWebhookId(id)) {
      throw invalidWebhook('The webhook id in the URL is not valid: it is the lower-case UUID after /incomingwebhooks/; copy the whole URL again.');
    }
    if (token === undefined) throw invalidWebhook('The URL has no token: use the whole webhook URL, including ?token=… at its end.');
    if (typeof token !== 'string') {
      throw invalidWebhook('The URL has more than one token parameter; use the webhook URL exactly as it was copied.');
    }
    if (!isTokenShaped(token)) {
      throw invalidWebhook('The token in the URL is not valid: it is the 72 letters and digits after ?token=; copy the whole URL again.');
    }
    // Most posts come from a webhook that posted a moment ago: no store read (issue 7: the read was
    // the costliest step left on the hot path). A token that does not match the cached webhook may be
    // a URL regenerated on another node, so it is checked against the store below.
    const now = this.ctx.clock.now();
    const cached = this.liveCache.get(id);
    if (cached && cached.until > now && tokensEqual(token, cached.token)) return cached.sender;
    const w = await this.ctx.store.getWebhook(id);
    if (!w) throw invalidWebhook(NO_MATCH);
    if (w.deletedAt === null) {
      const current = this.currentToken(id, w.generation);
      if (tokensEqual(token, current)) {
        const sender: WebhookSender = { id: w.id, roomId: w.roomId, name: w.name, generation: w.generation };
        if (this.liveCache.size >= TOKEN_CACHE_SIZE) this.liveCache.clear();
        this.liveCache.set(id, { sender, token: current, until: now + LIVE_WEBHOOK_TTL_MS });
        return sender;
      }
    }
    // Earlier generations (and, once deleted, every generation) were valid once: 404, not 403.
    const newestOnceValid = w.deletedAt === null ? w.generation - 1 : w.generation;
    for (let g = newestOnceValid; g >= 1 && g > newestOnceValid - OLD_GENERATIONS_CHECKED; g--) {
      if (tokensEqual(token, deriveToken(this.secret, id, g))) throw webhookGone();
    }
    throw invalidWebhook(NO_MATCH);
  }
}

/** A webhook name: trimmed, 1–64 characters, no control characters. */
export function checkName(name: string): string {
  const clean = name.trim();
  if (clean === '') throw new AppError('InvalidRequest', 'name must not be blank; give the webhook a name people will recognise, e.g. "Deploy bot".');
  const n = codePointLength(clean);
  if (n > LIMITS.webhookNameMaxChars) {
    throw new AppError('InvalidRequest', `name is ${n} characters long; a webhook name can have at most ${LIMITS.webhookNameMaxChars} characters.`);
  }
  if (CONTROL.test(clean)) throw new AppError('InvalidRequest', 'name must not contain control characters such as line breaks or tabs; use plain text.');
  return clean;
}

function nameConflict(e: unknown, name: string): unknown {
  if (e instanceof StoreConflictError) {
    return new AppError('Conflict', `name: this room already has a webhook named "${name}" (names are compared ignoring case); choose another name.`);
  }
  return e;
}
