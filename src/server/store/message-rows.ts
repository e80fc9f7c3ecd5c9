/** Message rows ↔ records, shared by the Kysely store, its change transactions and the SQLite append worker's answers. */
import type { Mentions, Reaction } from '../../shared/api-types.js';
import type { Selectable } from './kysely.js';
import type { MessagesTable } from './schema.js';
import type { MessageDraft, MessageMentionsAdded, MessageRecord } from './types.js';

/**
 * The columns a message record is made of. Queries name them rather than select *: PostgreSQL's
 * messages table also has the search column (migration 0006), about the size of the content, which
 * no reader of messages needs.
 */
export const MESSAGE_COLUMNS = [
  'id', 'room_id', 'seq', 'sender_type', 'sender_id', 'sender_name', 'content', 'html', 'mentions', 'created_at',
  'present_user_ids', 'edited_at', 'deleted_at', 'deleted_by', 'edit_count', 'reactions', 'webhook_key',
] as const;

/** MESSAGE_COLUMNS qualified by the table, for joins. */
export const MESSAGE_COLUMNS_QUALIFIED = MESSAGE_COLUMNS.map((c) => `messages.${c}` as const);

const num = (v: number | string | bigint | null): number | null => (v === null ? null : Number(v));

export const toMessage = (r: Selectable<MessagesTable>): MessageRecord => {
  const message: MessageRecord = {
    id: r.id,
    roomId: r.room_id,
    seq: Number(r.seq),
    sender: { type: r.sender_type, id: r.sender_id, name: r.sender_name },
    content: r.content,
    html: r.html,
    mentions: JSON.parse(r.mentions) as Mentions,
    createdAt: Number(r.created_at),
    editedAt: num(r.edited_at),
    deletedAt: num(r.deleted_at),
    reactions: r.reactions === null ? [] : (JSON.parse(r.reactions) as Reaction[]),
  };
  if (r.present_user_ids !== null) message.presentAtPost = JSON.parse(r.present_user_ids) as string[];
  if (r.deleted_at !== null) message.deletedBy = r.deleted_by === 'administrator' ? 'administrator' : 'author';
  return message;
};

/** The record of a message just appended at `seq`. */
export const newMessageRecord = (draft: MessageDraft, seq: number): MessageRecord => ({
  ...draft,
  seq,
  editedAt: null,
  deletedAt: null,
  reactions: [],
});

/**
 * What a new version of a message adds to its mentions (issue 14: a webhook update re-applies the
 * alert rules only for mentions it adds): @All or @Present newly used, and members newly named.
 * undefined when it adds none.
 */
export function mentionsAdded(
  previous: { mentions: Mentions; presentAtPost?: string[] | undefined },
  next: Mentions,
  presentAtPost?: readonly string[],
): MessageMentionsAdded | undefined {
  const all = next.all && !previous.mentions.all;
  const present = next.present && !previous.mentions.present;
  const before = new Set(previous.mentions.userIds);
  const userIds = next.userIds.filter((id) => !before.has(id));
  if (!all && !present && userIds.length === 0) return undefined;
  return {
    mentions: { all, present, userIds },
    ...(present && presentAtPost ? { presentAtPost: [...presentAtPost] } : {}),
    // Who the version before alerted: they were told already (newAlert only for the others).
    before: { mentions: previous.mentions, ...(previous.presentAtPost ? { presentAtPost: previous.presentAtPost } : {}) },
  };
}
