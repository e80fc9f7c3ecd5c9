/**
 * Webhooks: management by room administrators (SPEC 2.5) and authentication of webhook URLs for the
 * endpoint (SPEC 2.1, 2.3). Free of HTTP: it throws AppError codes and the edge maps them.
 */
import { randomUUID } from 'node:crypto';
import type { WebhookPatch, WebhookSettings, WebhookWithUrl } from '../../shared/api-types.js';
import { LIMITS } from '../../shared/limits.js';
import { AppError } from '../errors.js';
import { type Actor, isServer, requireRoomAdmin, roomNotFound } from '../services/access.js';
import { codePointLength } from '../services/content.js';
import type { ServiceContext } from '../services/context.js';
import type { WebhookSender } from '../services/message-service.js';
import { orderedId } from '../ids.js';
import type { AuditAction } from '../store/webhook-ops-store.js';
import { NOTICE_GAP_MS } from './delivery-log.js';
import { StoreConflictError, StoreGuardError, type WebhookRecord, type WebhookSettingsRecord } from '../store/types.js';
import { deriveSigningSecret, deriveToken, isTokenShaped, isWebhookId, tokensEqual, webhookUrl } from './tokens.js';

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

  /**
   * Webhooks that authenticated recently, by id, with their current token and, while a regenerate's
   * overlap lasts, the previous one (issue 15) (bounded like tokenCache).
   */
  private readonly liveCache = new Map<
    string,
    { sender: WebhookSender; token: string; until: number; previous: { sender: WebhookSender; token: string; validUntil: number } | undefined }
  >();

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

  /**
   * The secret GitHub signs deliveries with (X-Hub-Signature-256) at a generation (issue 15; see
   * formats/github): derived like the token, never stored, new when the URL is regenerated.
   */
  signingSecretOf(webhook: Pick<WebhookRecord, 'id' | 'generation'>): string {
    return deriveSigningSecret(this.secret, webhook.id, webhook.generation);
  }

  /** The webhook object without `failing`, which presentWithFailing adds (it reads the store). */
  private present(w: WebhookRecord): Omit<WebhookWithUrl, 'failing'> {
    return {
      id: w.id,
      name: w.name,
      url: this.urlOf(w),
      createdAt: w.createdAt,
      settings: this.settingsOf(w),
      previousUrlValidUntil: this.previousValidUntil(w),
      signingSecret: this.signingSecretOf(w),
    };
  }

  /**
   * A webhook's settings as in effect (issue 15): its own rate and burst, or the server's defaults,
   * never above the server's maximums (an operator who lowers WEBHOOK_MAX_* lowers them at once).
   */
  settingsOf(w: Pick<WebhookRecord, 'settings'>): WebhookSettings {
    const c = this.ctx.config;
    return {
      ratePerSecond: Math.min(c.webhookMaxRatePerSecond, w.settings?.ratePerSecond ?? c.webhookRatePerSecond),
      burst: Math.min(c.webhookMaxBurst, w.settings?.burst ?? c.webhookBurst),
      allowBroadcastMentions: w.settings?.allowBroadcastMentions ?? true,
    };
  }

  /** Until when the previous generation's URL still works, or null (none, or its overlap is over). */
  private previousValidUntil(w: Pick<WebhookRecord, 'generation' | 'previousValidUntil'>): number | null {
    const until = w.previousValidUntil ?? null;
    return w.generation > 1 && until !== null && until > this.ctx.clock.now() ? until : null;
  }

  /** Who posts through a live webhook's URL at `generation` (its current one, or the previous one during an overlap). */
  private senderOf(w: WebhookRecord, generation: number): WebhookSender {
    const { ratePerSecond, burst, allowBroadcastMentions } = this.settingsOf(w);
    return { id: w.id, roomId: w.roomId, name: w.name, generation, limits: { ratePerSecond, burst }, allowBroadcastMentions };
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
    await this.audit(actor, roomId, 'webhook.created', created);
    return { ...this.present(created), failing: null };
  }

  async list(actor: Actor, roomId: string): Promise<WebhookWithUrl[]> {
    await requireRoomAdmin(this.ctx.store, actor, roomId, 'see webhook URLs');
    return this.presentWithFailing(roomId, await this.ctx.store.listWebhooks(roomId));
  }

  async rename(actor: Actor, roomId: string, webhookId: string, name: string): Promise<WebhookWithUrl> {
    await requireRoomAdmin(this.ctx.store, actor, roomId, 'rename webhooks');
    const clean = checkName(name);
    const before = await this.liveInRoom(roomId, webhookId);
    let renamed: WebhookRecord | null;
    try {
      renamed = await this.ctx.store.renameWebhook(webhookId, clean);
    } catch (e) {
      throw nameConflict(e, clean);
    }
    this.forget(webhookId);
    if (!renamed) throw webhookNotInRoom();
    this.ctx.events.publish({ type: 'webhooks.changed', roomId });
    if (before.name !== renamed.name) await this.audit(actor, roomId, 'webhook.renamed', renamed, { from: before.name, to: renamed.name });
    return this.presentOne(roomId, renamed);
  }

  /**
   * PATCH (issue 15): a new name, new settings, or both. Everything is checked before anything
   * changes; settings apply to this node's next post at once, and to other nodes' within
   * LIVE_WEBHOOK_TTL_MS (their cached webhook expires).
   */
  async update(actor: Actor, roomId: string, webhookId: string, patch: WebhookPatch): Promise<WebhookWithUrl> {
    await requireRoomAdmin(this.ctx.store, actor, roomId, 'change webhooks');
    const clean = patch.name === undefined ? undefined : checkName(patch.name);
    const settings = patch.settings === undefined ? undefined : this.checkSettings(patch.settings);
    let current = await this.liveInRoom(roomId, webhookId);
    const before = current;
    if (clean !== undefined) {
      let renamed: WebhookRecord | null;
      try {
        renamed = await this.ctx.store.renameWebhook(webhookId, clean);
      } catch (e) {
        throw nameConflict(e, clean);
      }
      if (!renamed) throw webhookNotInRoom();
      current = renamed;
    }
    if (settings !== undefined && Object.keys(settings).length > 0) {
      const changed = await this.ctx.store.updateWebhookSettings(webhookId, settings);
      if (!changed) throw webhookNotInRoom();
      current = changed;
    }
    this.forget(webhookId);
    this.ctx.events.publish({ type: 'webhooks.changed', roomId });
    // The audit trail (issue 15): one entry per kind of change that changed something.
    if (before.name !== current.name) await this.audit(actor, roomId, 'webhook.renamed', current, { from: before.name, to: current.name });
    const changes = settingChanges(this.settingsOf(before), this.settingsOf(current));
    if (Object.keys(changes).length > 0) await this.audit(actor, roomId, 'webhook.settings', current, { changes });
    return this.presentOne(roomId, current);
  }

  /** PATCH's settings, within the server's bounds: 400 InvalidRequest saying the bound otherwise. null: back to the default. */
  private checkSettings(settings: NonNullable<WebhookPatch['settings']>): Partial<WebhookSettingsRecord> {
    const c = this.ctx.config;
    const out: Partial<WebhookSettingsRecord> = {};
    const { ratePerSecond, burst, allowBroadcastMentions } = settings;
    if (ratePerSecond !== undefined) {
      if (ratePerSecond !== null && (typeof ratePerSecond !== 'number' || !Number.isFinite(ratePerSecond) || ratePerSecond < LIMITS.webhookMinRatePerSecond)) {
        throw new AppError('InvalidRequest', `settings.ratePerSecond must be a number of at least ${LIMITS.webhookMinRatePerSecond} (posts per second), or null for the server's default (${c.webhookRatePerSecond}).`);
      }
      if (ratePerSecond !== null && ratePerSecond > c.webhookMaxRatePerSecond) {
        throw new AppError(
          'InvalidRequest',
          `settings.ratePerSecond is ${ratePerSecond}; this server allows at most ${c.webhookMaxRatePerSecond} posts per second per webhook (WEBHOOK_MAX_RATE_PER_SECOND).`,
        );
      }
      out.ratePerSecond = ratePerSecond;
    }
    if (burst !== undefined) {
      if (burst !== null && (typeof burst !== 'number' || !Number.isInteger(burst) || burst < 1)) {
        throw new AppError('InvalidRequest', `settings.burst must be a whole number of at least 1 (posts at once), or null for the server's default (${c.webhookBurst}).`);
      }
      if (burst !== null && burst > c.webhookMaxBurst) {
        throw new AppError('InvalidRequest', `settings.burst is ${burst}; this server allows a burst of at most ${c.webhookMaxBurst} posts per webhook (WEBHOOK_MAX_BURST).`);
      }
      out.burst = burst;
    }
    if (allowBroadcastMentions !== undefined) {
      if (typeof allowBroadcastMentions !== 'boolean') throw new AppError('InvalidRequest', 'settings.allowBroadcastMentions must be true or false.');
      out.allowBroadcastMentions = allowBroadcastMentions;
    }
    return out;
  }

  /**
   * A new URL for the same webhook: the generation goes up. The old URL answers 404 at once
   * (Chime), or with `keepOldUrlForHours` (issue 15, 1–24) keeps working until then; only the URL
   * just replaced does, so a second regenerate ends the first one's overlap.
   */
  async regenerate(actor: Actor, roomId: string, webhookId: string, keepOldUrlForHours = 0): Promise<WebhookWithUrl> {
    await requireRoomAdmin(this.ctx.store, actor, roomId, 'regenerate webhook URLs');
    if (!Number.isInteger(keepOldUrlForHours) || keepOldUrlForHours < 0 || keepOldUrlForHours > LIMITS.webhookKeepOldUrlMaxHours) {
      throw new AppError('InvalidRequest', `keepOldUrlForHours must be a whole number of hours from 0 (the old URL stops at once) to ${LIMITS.webhookKeepOldUrlMaxHours}.`);
    }
    await this.liveInRoom(roomId, webhookId);
    const bumped = await this.ctx.store.regenerateWebhook(webhookId, keepOldUrlForHours > 0 ? this.ctx.clock.now() + keepOldUrlForHours * 3_600_000 : null);
    this.forget(webhookId);
    if (!bumped) throw webhookNotInRoom();
    this.ctx.events.publish({ type: 'webhooks.changed', roomId });
    await this.audit(actor, roomId, 'webhook.regenerated', bumped, { keepOldUrlForHours });
    return this.presentOne(roomId, bumped);
  }

  /** Deletes to a tombstone, so the webhook's once-valid URLs answer 404 rather than 403. */
  async delete(actor: Actor, roomId: string, webhookId: string): Promise<void> {
    await requireRoomAdmin(this.ctx.store, actor, roomId, 'delete webhooks');
    const w = await this.liveInRoom(roomId, webhookId);
    const deleted = await this.ctx.store.deleteWebhook(webhookId, this.ctx.clock.now());
    this.forget(webhookId);
    if (!deleted) throw webhookNotInRoom();
    this.ctx.events.publish({ type: 'webhooks.changed', roomId });
    await this.audit(actor, roomId, 'webhook.deleted', w);
    // Its delivery log and failure state go with it (the audit trail stays).
    await this.ctx.store.webhookOps.forgetWebhook(webhookId);
  }

  /**
   * Records a change of a webhook in the room's audit trail (issue 15): who (a user, or the server
   * itself for the command line), when, what. Written after the change committed; a failure to write
   * it fails the request (the change stays made).
   */
  async audit(actor: Actor, roomId: string, action: AuditAction, webhook: Pick<WebhookRecord, 'id' | 'name'>, details: Record<string, unknown> = {}): Promise<void> {
    const at = this.ctx.clock.now();
    await this.ctx.store.webhookOps.appendAudit({
      id: orderedId(at),
      roomId,
      at,
      actor: isServer(actor) ? { type: 'server', id: null, name: SERVER_ACTOR_NAME } : { type: 'user', id: actor.id, name: actor.displayName },
      action,
      webhookId: webhook.id,
      webhookName: webhook.name,
      details,
    });
  }

  /** One webhook as presented, with `failing`. */
  private async presentOne(roomId: string, w: WebhookRecord): Promise<WebhookWithUrl> {
    return (await this.presentWithFailing(roomId, [w]))[0]!;
  }

  /**
   * Webhooks as presented, each with `failing` (issue 15): set while its last failure notice is
   * under an hour old and it has not answered 200 since.
   */
  private async presentWithFailing(roomId: string, records: WebhookRecord[]): Promise<WebhookWithUrl[]> {
    const now = this.ctx.clock.now();
    const notices = await this.ctx.store.webhookOps.noticesSince(roomId, now - NOTICE_GAP_MS);
    const noticed = records.filter((w) => notices.has(w.id)).map((w) => w.id);
    const latest = noticed.length > 0 ? await this.ctx.store.webhookOps.latestDeliveries(noticed) : new Map<string, never>();
    return records.map((w) => {
      const n = notices.get(w.id);
      const last = latest.get(w.id);
      const recovered = last !== undefined && last.status === 200 && last.at >= (n?.notifiedAt ?? 0);
      const failing = n && !recovered ? { since: n.since, failures: n.failures, lastStatus: n.lastStatus, lastCode: n.lastCode ?? String(n.lastStatus) } : null;
      return { ...this.present(w), failing };
    });
  }

  /** The room's live webhook with this id; 404 NotFound otherwise. */
  async liveInRoom(roomId: string, webhookId: string): Promise<WebhookRecord> {
    const w = await this.ctx.store.getWebhook(webhookId);
    if (!w || w.roomId !== roomId || w.deletedAt !== null) throw webhookNotInRoom();
    return w;
  }

  /**
   * Who a webhook URL belongs to (SPEC 2.3, first check). Malformed, unknown or wrong → 403
   * InvalidWebhook; a token that was valid for this id at an earlier generation, or any once-valid
   * token of a deleted webhook → 404 WebhookNotFound, as Chime answered for deleted and regenerated
   * URLs; except the previous generation's while a regenerate's overlap lasts (issue 15), which
   * posts as that generation. The store checks the generation again inside the storing
   * transaction, so a URL regenerated between this check and the commit still stores nothing.
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
    if (cached && cached.until > now) {
      if (tokensEqual(token, cached.token)) return cached.sender;
      // The URL before a regenerate with overlap (issue 15), until its time.
      if (cached.previous && cached.previous.validUntil > now && tokensEqual(token, cached.previous.token)) return cached.previous.sender;
    }
    const w = await this.ctx.store.getWebhook(id);
    if (!w) throw invalidWebhook(NO_MATCH);
    if (w.deletedAt === null) {
      const current = this.currentToken(id, w.generation);
      const validUntil = this.previousValidUntil(w);
      const previous =
        validUntil === null ? undefined : { sender: this.senderOf(w, w.generation - 1), token: this.currentToken(id, w.generation - 1), validUntil };
      const match = tokensEqual(token, current) ? 'current' : previous && tokensEqual(token, previous.token) ? 'previous' : null;
      if (match !== null) {
        const sender = this.senderOf(w, w.generation);
        if (this.liveCache.size >= TOKEN_CACHE_SIZE) this.liveCache.clear();
        this.liveCache.set(id, { sender, token: current, until: now + LIVE_WEBHOOK_TTL_MS, previous });
        return match === 'current' ? sender : previous!.sender;
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

/** The audit trail's name for changes made with the command line (`carillon webhook create`), which acts as the server. */
export const SERVER_ACTOR_NAME = 'Server (command line)';

/** The settings that differ, as {field: {from, to}} (the audit trail's details of a settings change). */
function settingChanges(before: WebhookSettings, after: WebhookSettings): Record<string, { from: unknown; to: unknown }> {
  const out: Record<string, { from: unknown; to: unknown }> = {};
  for (const k of Object.keys(after) as (keyof WebhookSettings)[]) {
    if (before[k] !== after[k]) out[k] = { from: before[k], to: after[k] };
  }
  return out;
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
