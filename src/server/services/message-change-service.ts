/**
 * Changing messages after they are posted (issue 14): members edit and delete their own messages,
 * room administrators delete any message, members react. Every change is stored with its own seq
 * of the room and published, so every client sees it live and through resume.
 */
import emojiDefs from 'markdown-it-emoji/lib/data/full.mjs';
import type { MessageEdit } from '../../shared/api-types.js';
import { LIMITS } from '../../shared/limits.js';
import { AppError } from '../errors.js';
import { type ChangeOutcome, type MessageRecord, StoreGuardError, type UserRecord } from '../store/types.js';
import { requireMember } from './access.js';
import type { ServiceContext } from './context.js';
import type { MessageService } from './message-service.js';

const messageNotFound = () => new AppError('NotFound', 'No such message in this room; it may have been deleted. Reload the room to see its messages.');
const deletedConflict = (what: string) => new AppError('Conflict', `This message was deleted; it can no longer be ${what}.`);

// One emoji: a single grapheme that is pictographic (😀, ✅, 👍🏽, 👩‍💻), a flag or a keycap (1️⃣).
const graphemes = new Intl.Segmenter('en', { granularity: 'grapheme' });
const EMOJI = /^(?:[\p{Extended_Pictographic}\p{Regional_Indicator}]|[#*0-9]\uFE0F?\u20E3)/u;
const SHORTCODE = /^:?([a-z0-9_+-]{1,64}):?$/;

/**
 * The emoji a reaction names: the emoji itself, or a gemoji shortcode (`white_check_mark`,
 * `:+1:`). Anything else is refused with what to send instead.
 */
export function parseReactionEmoji(raw: string): string {
  const code = SHORTCODE.exec(raw)?.[1];
  if (code !== undefined && Object.hasOwn(emojiDefs, code)) return emojiDefs[code]!;
  const segments = [...graphemes.segment(raw)];
  if (
    segments.length !== 1 ||
    Buffer.byteLength(raw, 'utf8') > LIMITS.reactionMaxBytes ||
    !EMOJI.test(raw) ||
    // No controls, tags outside flags, or private-use characters riding along.
    /[\p{Cc}\p{Co}]/u.test(raw)
  ) {
    throw new AppError('InvalidRequest', `A reaction is one emoji (e.g. ✅ or 👍, URL-encoded) or a shortcode such as white_check_mark; got ${JSON.stringify(raw.slice(0, 20))}.`);
  }
  return raw;
}

export class MessageChangeService {
  constructor(
    private readonly ctx: ServiceContext,
    private readonly messages: MessageService,
  ) {}

  /** A message of the room, for a member (tombstones included). */
  async get(actor: UserRecord, roomId: string, messageId: string): Promise<MessageRecord> {
    await requireMember(this.ctx.store, actor, roomId);
    return this.find(roomId, messageId);
  }

  /** The author edits their own message: same content rules as posting; only mentions it adds alert. */
  async edit(actor: UserRecord, roomId: string, messageId: string, content: string): Promise<MessageRecord> {
    await requireMember(this.ctx.store, actor, roomId);
    const current = await this.find(roomId, messageId);
    if (current.deletedAt !== null) throw deletedConflict('edited');
    if (current.sender.type !== 'user' || current.sender.id !== actor.id) {
      throw new AppError(
        'Forbidden',
        current.sender.type === 'webhook'
          ? 'Webhook messages are changed only by their webhook (a post with the same Key); you can delete it if you are a room administrator.'
          : 'You can edit only your own messages.',
      );
    }
    const prepared = await this.messages.prepare(roomId, content);
    const outcome = await this.messages.guarded(async () => {
      // Chime's rule for posts holds for edits: no @All/@Present in rooms of more than 50 members.
      const { maxMembers } = this.messages.broadcastGuard(prepared.mentions);
      if (maxMembers !== undefined) {
        const members = await this.ctx.store.countMembers(roomId);
        if (members > maxMembers) throw new StoreGuardError('too_many_members', members);
      }
      return this.changeOrNotFound(
        () => this.ctx.store.editMessage(roomId, messageId, { content, ...prepared, at: this.ctx.clock.now() }),
        { messageId, what: 'edited' },
      );
    });
    return outcome ? outcome.event.message : current;
  }

  /** The author deletes their own message; a room administrator any message, webhook posts included. */
  async delete(actor: UserRecord, roomId: string, messageId: string): Promise<void> {
    const role = await requireMember(this.ctx.store, actor, roomId);
    const current = await this.find(roomId, messageId);
    if (current.deletedAt !== null) return;
    const own = current.sender.type === 'user' && current.sender.id === actor.id;
    if (!own && role !== 'administrator') {
      throw new AppError('Forbidden', 'You can delete only your own messages; room administrators can delete any message.');
    }
    await this.changeOrNotFound(() => this.ctx.store.deleteMessage(roomId, messageId, own ? 'author' : 'administrator', this.ctx.clock.now()));
  }

  /** Adds (on) or removes the member's reaction; doing what is already done changes nothing. */
  async react(actor: UserRecord, roomId: string, messageId: string, rawEmoji: string, on: boolean): Promise<MessageRecord> {
    await requireMember(this.ctx.store, actor, roomId);
    const emoji = parseReactionEmoji(rawEmoji);
    const current = await this.find(roomId, messageId);
    if (current.deletedAt !== null) throw deletedConflict('reacted to');
    try {
      const outcome = await this.changeOrNotFound(
        () => this.ctx.store.setReaction(roomId, messageId, actor.id, emoji, on, this.ctx.clock.now(), LIMITS.reactionsPerMessage),
        { messageId, what: 'reacted to' },
      );
      return outcome ? outcome.event.message : await this.find(roomId, messageId);
    } catch (e) {
      if (e instanceof StoreGuardError && e.reason === 'reaction_limit') {
        throw new AppError('Conflict', `A message can have at most ${LIMITS.reactionsPerMessage} different reactions; add yours to one that is already there.`);
      }
      throw e;
    }
  }

  /** Former versions, for the author and room administrators (an edit may have removed something on purpose). */
  async history(actor: UserRecord, roomId: string, messageId: string): Promise<MessageEdit[]> {
    const role = await requireMember(this.ctx.store, actor, roomId);
    const current = await this.find(roomId, messageId);
    const own = current.sender.type === 'user' && current.sender.id === actor.id;
    if (!own && role !== 'administrator') throw new AppError('Forbidden', 'Only the author and room administrators can see a message\'s earlier versions.');
    return this.ctx.store.listEdits(messageId);
  }

  private async find(roomId: string, messageId: string): Promise<MessageRecord> {
    const m = await this.ctx.store.getMessage(messageId);
    if (!m || m.roomId !== roomId) throw messageNotFound();
    return m;
  }

  /** Runs a change; publishes it when it changed something. A message gone meanwhile answers 404. */
  private async changeOrNotFound(write: () => Promise<ChangeOutcome | null>, ifDeleted?: { messageId: string; what: string }): Promise<ChangeOutcome | null> {
    let outcome: ChangeOutcome | null;
    try {
      outcome = await write();
    } catch (e) {
      if (e instanceof StoreGuardError && e.reason === 'not_found') {
        // Deleted by a concurrent request after the check above: the same 409 as when it was deleted before.
        if (ifDeleted && (await this.ctx.store.getMessage(ifDeleted.messageId))?.deletedAt != null) throw deletedConflict(ifDeleted.what);
        throw messageNotFound();
      }
      throw e;
    }
    if (outcome) this.ctx.events.publish({ type: 'message.changed', event: outcome.event });
    return outcome;
  }
}
