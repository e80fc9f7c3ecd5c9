/**
 * Changes of stored messages (issue 14), each in the caller's transaction: an edit (or a webhook
 * update by key), a deletion (tombstone), a reaction. Every change takes the room's next seq and
 * is recorded in message_events, so the stream delivers changes in the same gap-free sequence as
 * messages (listRoomEvents). The seq is bumped first: on PostgreSQL that takes the room's row
 * lock, so the message is read and written by one change at a time; SQLite's write transactions
 * are serial (BEGIN IMMEDIATE).
 */
import type { MessageChange, Reaction } from '../../shared/api-types.js';
import { LIMITS } from '../../shared/limits.js';
import { type Kysely, type Selectable, type Transaction, sql } from './kysely.js';
import { MESSAGE_COLUMNS, MESSAGE_COLUMNS_QUALIFIED, mentionsAdded, toMessage } from './message-rows.js';
import type { Database, MessagesTable } from './schema.js';
import { type ChangeOutcome, type ContentChange, type MessageRecord, type RoomEvent, StoreGuardError } from './types.js';

/** Thrown inside a change transaction when it would change nothing: the transaction rolls back (its seq is not used). */
export class NoChange extends Error {
  constructor(readonly message_: MessageRecord) {
    super('no change');
  }
}

const EMPTY_MENTIONS = JSON.stringify({ all: false, present: false, userIds: [] });

/** Takes the room's next seq (and, on PostgreSQL, its row lock until commit); null if there is no such room. */
export async function bumpSeq(trx: Transaction<Database>, roomId: string): Promise<number | null> {
  const r = await trx.updateTable('rooms').set({ last_seq: sql`last_seq + 1` }).where('id', '=', roomId).returning('last_seq').executeTakeFirst();
  return r ? Number(r.last_seq) : null;
}

/** Bumps the seq and reads the live message; StoreGuardError 'not_found' when the room, the message or a live one is missing. */
async function lockLive(trx: Transaction<Database>, roomId: string, messageId: string): Promise<{ seq: number; row: Selectable<MessagesTable> }> {
  const seq = await bumpSeq(trx, roomId);
  if (seq === null) throw new StoreGuardError('not_found');
  const row = await trx.selectFrom('messages').select(MESSAGE_COLUMNS).where('id', '=', messageId).where('room_id', '=', roomId).executeTakeFirst();
  if (!row || row.deleted_at !== null) throw new StoreGuardError('not_found');
  return { seq, row };
}

async function recordEvent(trx: Transaction<Database>, roomId: string, seq: number, messageId: string, kind: MessageChange, at: number, added?: string | null): Promise<void> {
  await trx.insertInto('message_events').values({ room_id: roomId, seq, message_id: messageId, kind, added_mentions: added ?? null, created_at: at }).execute();
}

/**
 * Replaces the content of a live message read under the room lock; NoChange when the content is
 * the same (a webhook re-sending its current alert adds nothing). The old version goes to the history.
 */
export async function applyContentChange(
  trx: Transaction<Database>,
  seq: number,
  row: Selectable<MessagesTable>,
  change: ContentChange,
  senderName?: string,
): Promise<ChangeOutcome> {
  const previous = toMessage(row);
  if (previous.content === change.content && (senderName === undefined || senderName === previous.sender.name)) throw new NoChange(previous);
  const version = Number(row.edit_count) + 1;
  await trx
    .insertInto('message_edits')
    .values({ message_id: row.id, version, content: row.content, created_at: Number(row.edited_at ?? row.created_at), replaced_at: change.at })
    .execute();
  await trx.deleteFrom('message_edits').where('message_id', '=', row.id).where('version', '<=', version - LIMITS.editHistoryMax).execute();
  // @Present alerts whoever was present when it was first used: a version that keeps it keeps that
  // snapshot; one that adds it takes the new one; one that drops it drops it.
  const present = !change.mentions.present ? null : previous.mentions.present ? (row.present_user_ids ?? null) : change.presentAtPost ? JSON.stringify(change.presentAtPost) : null;
  const added = mentionsAdded(previous, change.mentions, change.presentAtPost);
  const updated = await trx
    .updateTable('messages')
    .set({
      content: change.content,
      html: change.html,
      mentions: JSON.stringify(change.mentions),
      present_user_ids: present,
      edited_at: change.at,
      edit_count: version,
      ...(senderName !== undefined ? { sender_name: senderName } : {}),
    })
    .where('id', '=', row.id)
    .returning(MESSAGE_COLUMNS)
    .executeTakeFirstOrThrow();
  await recordEvent(trx, row.room_id, seq, row.id, 'edited', change.at, added ? JSON.stringify(added) : null);
  const message = toMessage(updated);
  return { event: { kind: 'changed', seq, change: 'edited', message, ...(added ? { addedMentions: added } : {}) }, previous };
}

export async function editInTx(trx: Transaction<Database>, roomId: string, messageId: string, change: ContentChange): Promise<ChangeOutcome> {
  const { seq, row } = await lockLive(trx, roomId, messageId);
  return applyContentChange(trx, seq, row, change);
}

export async function deleteInTx(trx: Transaction<Database>, roomId: string, messageId: string, by: 'author' | 'administrator', at: number): Promise<ChangeOutcome> {
  const seq = await bumpSeq(trx, roomId);
  if (seq === null) throw new StoreGuardError('not_found');
  const row = await trx.selectFrom('messages').select(MESSAGE_COLUMNS).where('id', '=', messageId).where('room_id', '=', roomId).executeTakeFirst();
  if (!row) throw new StoreGuardError('not_found');
  const previous = toMessage(row);
  if (row.deleted_at !== null) throw new NoChange(previous);
  // The tombstone keeps the message's place (id, seq, sender, time); what was said goes, with its
  // history and reactions. The key is released: the webhook's next post with it starts a new message.
  const updated = await trx
    .updateTable('messages')
    .set({ content: '', html: '', mentions: EMPTY_MENTIONS, present_user_ids: null, deleted_at: at, deleted_by: by, reactions: null, webhook_key: null })
    .where('id', '=', row.id)
    .returning(MESSAGE_COLUMNS)
    .executeTakeFirstOrThrow();
  await trx.deleteFrom('message_edits').where('message_id', '=', row.id).execute();
  await trx.deleteFrom('message_reactions').where('message_id', '=', row.id).execute();
  await recordEvent(trx, roomId, seq, row.id, 'deleted', at);
  return { event: { kind: 'changed', seq, change: 'deleted', message: toMessage(updated) }, previous };
}

export async function reactionInTx(
  trx: Transaction<Database>,
  roomId: string,
  messageId: string,
  userId: string,
  emoji: string,
  on: boolean,
  at: number,
  maxEmoji: number,
): Promise<ChangeOutcome> {
  const { seq, row } = await lockLive(trx, roomId, messageId);
  const previous = toMessage(row);
  // message_reactions is the truth (one row per user per emoji: its primary key); the JSON summary
  // on the message is kept in step here, in the order each emoji was first used.
  const reactions: Reaction[] = previous.reactions.map((r) => ({ ...r, userIds: [...r.userIds] }));
  const entry = reactions.find((r) => r.emoji === emoji);
  if (on) {
    if (entry?.userIds.includes(userId)) throw new NoChange(previous);
    if (!entry && reactions.length >= maxEmoji) throw new StoreGuardError('reaction_limit', reactions.length);
    await trx.insertInto('message_reactions').values({ message_id: messageId, emoji, user_id: userId, created_at: at }).execute();
    if (entry) entry.userIds.push(userId);
    else reactions.push({ emoji, count: 0, userIds: [userId] });
  } else {
    const r = await trx.deleteFrom('message_reactions').where('message_id', '=', messageId).where('emoji', '=', emoji).where('user_id', '=', userId).executeTakeFirst();
    if (!entry || Number(r.numDeletedRows) === 0) throw new NoChange(previous);
    entry.userIds = entry.userIds.filter((id) => id !== userId);
  }
  const summary = reactions.filter((r) => r.userIds.length > 0).map((r) => ({ emoji: r.emoji, count: r.userIds.length, userIds: r.userIds }));
  const updated = await trx
    .updateTable('messages')
    .set({ reactions: summary.length > 0 ? JSON.stringify(summary) : null })
    .where('id', '=', messageId)
    .returning(MESSAGE_COLUMNS)
    .executeTakeFirstOrThrow();
  await recordEvent(trx, roomId, seq, messageId, 'reactions', at);
  return { event: { kind: 'changed', seq, change: 'reactions', message: toMessage(updated) }, previous };
}

/** The webhook's live message with this key, if any. */
export async function findKeyed(trx: Transaction<Database>, webhookId: string, key: string): Promise<Selectable<MessagesTable> | undefined> {
  return trx
    .selectFrom('messages')
    .select(MESSAGE_COLUMNS)
    .where('sender_id', '=', webhookId)
    .where('webhook_key', '=', key)
    .where('sender_type', '=', 'webhook')
    .where('deleted_at', 'is', null)
    .executeTakeFirst();
}

/**
 * Events with seq > after, in seq order, at most `limit`: the first `limit` of the messages and the
 * first `limit` of the changes, merged; every seq in the range is one or the other, so the merged
 * prefix is gap-free.
 */
export async function listRoomEvents(db: Kysely<Database>, roomId: string, after: number, limit: number): Promise<RoomEvent[]> {
  const [messages, changes] = await Promise.all([
    db.selectFrom('messages').select(MESSAGE_COLUMNS).where('room_id', '=', roomId).where('seq', '>', after).orderBy('seq', 'asc').limit(limit).execute(),
    db
      .selectFrom('message_events')
      .innerJoin('messages', 'messages.id', 'message_events.message_id')
      .select(MESSAGE_COLUMNS_QUALIFIED)
      .select(['message_events.seq as event_seq', 'message_events.kind as event_kind', 'message_events.added_mentions as event_added'])
      .where('message_events.room_id', '=', roomId)
      .where('message_events.seq', '>', after)
      .orderBy('message_events.seq', 'asc')
      .limit(limit)
      .execute(),
  ]);
  const out: RoomEvent[] = [];
  let i = 0;
  let j = 0;
  while (out.length < limit && (i < messages.length || j < changes.length)) {
    const m = messages[i];
    const c = changes[j];
    if (c === undefined || (m !== undefined && Number(m.seq) < Number(c.event_seq))) {
      out.push({ kind: 'created', seq: Number(m!.seq), message: toMessage(m!) });
      i++;
    } else {
      const { event_seq, event_kind, event_added, ...row } = c;
      out.push({
        kind: 'changed',
        seq: Number(event_seq),
        change: event_kind,
        message: toMessage(row),
        ...(event_added !== null ? { addedMentions: JSON.parse(event_added) } : {}),
      });
      j++;
    }
  }
  return out;
}
