/**
 * Schema migrations, written once with Kysely's schema builder so they run on SQLite and
 * PostgreSQL alike (only portable types: text, bigint, integer).
 */
import { type Kysely, type Migration, type MigrationProvider, Migrator, sql } from './kysely.js';
import { createMessageSearch, dropMessageSearch } from './search-schema.js';

const migrations: Record<string, Migration> = {
  '0001_initial': {
    async up(db: Kysely<any>) {
      await db.schema
        .createTable('instance_flags')
        .addColumn('name', 'text', (c) => c.primaryKey())
        .addColumn('value', 'text', (c) => c.notNull())
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .execute();
      await db.schema
        .createTable('users')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('email', 'text', (c) => c.notNull().unique())
        .addColumn('alias', 'text', (c) => c.notNull().unique())
        .addColumn('display_name', 'text', (c) => c.notNull())
        .addColumn('password_hash', 'text', (c) => c.notNull())
        .addColumn('is_system_admin', 'integer', (c) => c.notNull().defaultTo(0))
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .execute();
      await db.schema
        .createTable('sessions')
        .addColumn('token_hash', 'text', (c) => c.primaryKey())
        .addColumn('user_id', 'text', (c) => c.notNull().references('users.id').onDelete('cascade'))
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addColumn('expires_at', 'bigint', (c) => c.notNull())
        .execute();
      await db.schema.createIndex('sessions_user_idx').on('sessions').column('user_id').execute();
      await db.schema
        .createTable('rooms')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('name', 'text', (c) => c.notNull())
        .addColumn('created_by', 'text', (c) => c.notNull().references('users.id'))
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addColumn('last_seq', 'bigint', (c) => c.notNull().defaultTo(0))
        .execute();
      await db.schema
        .createTable('room_members')
        .addColumn('room_id', 'text', (c) => c.notNull().references('rooms.id').onDelete('cascade'))
        .addColumn('user_id', 'text', (c) => c.notNull().references('users.id').onDelete('cascade'))
        .addColumn('role', 'text', (c) => c.notNull())
        .addColumn('joined_at', 'bigint', (c) => c.notNull())
        .addPrimaryKeyConstraint('room_members_pk', ['room_id', 'user_id'])
        .execute();
      await db.schema.createIndex('room_members_user_idx').on('room_members').column('user_id').execute();
      await db.schema
        .createTable('messages')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('room_id', 'text', (c) => c.notNull().references('rooms.id').onDelete('cascade'))
        .addColumn('seq', 'bigint', (c) => c.notNull())
        .addColumn('sender_type', 'text', (c) => c.notNull())
        .addColumn('sender_id', 'text', (c) => c.notNull())
        .addColumn('sender_name', 'text', (c) => c.notNull())
        .addColumn('content', 'text', (c) => c.notNull())
        .addColumn('html', 'text', (c) => c.notNull())
        .addColumn('mentions', 'text', (c) => c.notNull())
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addUniqueConstraint('messages_room_seq_uq', ['room_id', 'seq'])
        .execute();
      await db.schema
        .createTable('webhooks')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('room_id', 'text', (c) => c.notNull().references('rooms.id').onDelete('cascade'))
        .addColumn('name', 'text', (c) => c.notNull())
        .addColumn('name_key', 'text', (c) => c.notNull())
        .addColumn('generation', 'integer', (c) => c.notNull().defaultTo(1))
        .addColumn('created_by', 'text', (c) => c.notNull())
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addColumn('deleted_at', 'bigint')
        .execute();
      // Names are unique per room among live webhooks only: a deleted name can be reused.
      await db.schema
        .createIndex('webhooks_room_name_uq')
        .on('webhooks')
        .columns(['room_id', 'name_key'])
        .unique()
        .where(sql.ref('deleted_at'), 'is', null)
        .execute();
    },
    async down(db: Kysely<any>) {
      for (const t of ['webhooks', 'messages', 'room_members', 'rooms', 'sessions', 'users', 'instance_flags']) {
        await db.schema.dropTable(t).execute();
      }
    },
  },
  // Who was present when an @Present message was posted (SPEC 4), so replays compute the same alerts.
  '0002_message_present_snapshot': {
    async up(db: Kysely<any>) {
      await db.schema.alterTable('messages').addColumn('present_user_ids', 'text').execute();
    },
    async down(db: Kysely<any>) {
      await db.schema.alterTable('messages').dropColumn('present_user_ids').execute();
    },
  },
  // Per-member read state and notification settings (issue 13): the last seq the member has
  // read (unread and mention counts are computed from it when the room list is read, never on
  // the append path), which messages notify them ('all' | 'mentions' | 'none'), and mute (0/1).
  '0003_member_read_state': {
    async up(db: Kysely<any>) {
      await db.schema
        .alterTable('room_members')
        .addColumn('last_read_seq', 'bigint', (c) => c.notNull().defaultTo(0))
        .execute();
      await db.schema
        .alterTable('room_members')
        .addColumn('notify', 'text', (c) => c.notNull().defaultTo('mentions'))
        .execute();
      await db.schema
        .alterTable('room_members')
        .addColumn('muted', 'integer', (c) => c.notNull().defaultTo(0))
        .execute();
      // Existing members start with everything read: an upgrade must not light every room up "999+".
      await sql`update room_members set last_read_seq = coalesce((select r.last_seq from rooms r where r.id = room_members.room_id), 0)`.execute(db);
    },
    async down(db: Kysely<any>) {
      for (const c of ['muted', 'notify', 'last_read_seq']) {
        await db.schema.alterTable('room_members').dropColumn(c).execute();
      }
    },
  },
  // Web Push (issue 13): browsers' subscriptions, a per-room cursor over the messages table (the
  // durable source of what to push: nothing is added to the webhook's storing transaction), and the
  // outbox of deliveries, unique per (subscription, message) so a re-run never queues one twice.
  '0004_web_push': {
    async up(db: Kysely<any>) {
      await db.schema
        .createTable('push_subscriptions')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('user_id', 'text', (c) => c.notNull().references('users.id').onDelete('cascade'))
        .addColumn('endpoint', 'text', (c) => c.notNull().unique())
        .addColumn('p256dh', 'text', (c) => c.notNull())
        .addColumn('auth', 'text', (c) => c.notNull())
        .addColumn('expires_at', 'bigint')
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addColumn('updated_at', 'bigint', (c) => c.notNull())
        .execute();
      await db.schema.createIndex('push_subscriptions_user_idx').on('push_subscriptions').column('user_id').execute();
      await db.schema
        .createTable('push_cursors')
        .addColumn('room_id', 'text', (c) => c.primaryKey().references('rooms.id').onDelete('cascade'))
        .addColumn('seq', 'bigint', (c) => c.notNull())
        .execute();
      // Existing rooms start at their last message: no pushes for history when the feature first
      // runs. Rooms created later have no row, which counts as 0 (their first message is pushed).
      await db.insertInto('push_cursors').columns(['room_id', 'seq']).expression(db.selectFrom('rooms').select(['id', 'last_seq'])).execute();
      await db.schema
        .createTable('push_deliveries')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('subscription_id', 'text', (c) => c.notNull().references('push_subscriptions.id').onDelete('cascade'))
        .addColumn('message_id', 'text', (c) => c.notNull())
        .addColumn('payload', 'text', (c) => c.notNull())
        .addColumn('urgency', 'text', (c) => c.notNull())
        .addColumn('attempts', 'integer', (c) => c.notNull().defaultTo(0))
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addColumn('next_attempt_at', 'bigint', (c) => c.notNull())
        .addUniqueConstraint('push_deliveries_subscription_message_uq', ['subscription_id', 'message_id'])
        .execute();
      await db.schema.createIndex('push_deliveries_due_idx').on('push_deliveries').column('next_attempt_at').execute();
    },
    async down(db: Kysely<any>) {
      for (const t of ['push_deliveries', 'push_cursors', 'push_subscriptions']) await db.schema.dropTable(t).execute();
    },
  },
  // Messages that change after they are posted (issue 14): edits, deletions (a tombstone keeps the
  // row and its seq; content, HTML, history and reactions go), reactions, and webhook posts that
  // update an earlier one by key. Every change is a room event with its own seq from the room's
  // counter, so the stream's "every seq once, in order" rule (and resume) covers changes too.
  '0005_message_changes': {
    async up(db: Kysely<any>) {
      await db.schema.alterTable('messages').addColumn('edited_at', 'bigint').execute();
      await db.schema.alterTable('messages').addColumn('deleted_at', 'bigint').execute();
      await db.schema.alterTable('messages').addColumn('deleted_by', 'text').execute();
      await db.schema.alterTable('messages').addColumn('edit_count', 'integer', (c) => c.notNull().defaultTo(0)).execute();
      await db.schema.alterTable('messages').addColumn('reactions', 'text').execute();
      await db.schema.alterTable('messages').addColumn('webhook_key', 'text').execute();
      // A webhook's key names at most one message (sender_id is the webhook's id for webhook posts).
      await db.schema
        .createIndex('messages_webhook_key_uq')
        .on('messages')
        .columns(['sender_id', 'webhook_key'])
        .unique()
        .where(sql.ref('webhook_key'), 'is not', null)
        .execute();
      await db.schema
        .createTable('message_events')
        .addColumn('room_id', 'text', (c) => c.notNull().references('rooms.id').onDelete('cascade'))
        .addColumn('seq', 'bigint', (c) => c.notNull())
        .addColumn('message_id', 'text', (c) => c.notNull())
        .addColumn('kind', 'text', (c) => c.notNull())
        .addColumn('added_mentions', 'text')
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addPrimaryKeyConstraint('message_events_pk', ['room_id', 'seq'])
        .execute();
      await db.schema
        .createTable('message_edits')
        .addColumn('message_id', 'text', (c) => c.notNull().references('messages.id').onDelete('cascade'))
        .addColumn('version', 'integer', (c) => c.notNull())
        .addColumn('content', 'text', (c) => c.notNull())
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addColumn('replaced_at', 'bigint', (c) => c.notNull())
        .addPrimaryKeyConstraint('message_edits_pk', ['message_id', 'version'])
        .execute();
      await db.schema
        .createTable('message_reactions')
        .addColumn('message_id', 'text', (c) => c.notNull().references('messages.id').onDelete('cascade'))
        .addColumn('emoji', 'text', (c) => c.notNull())
        .addColumn('user_id', 'text', (c) => c.notNull().references('users.id').onDelete('cascade'))
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addPrimaryKeyConstraint('message_reactions_pk', ['message_id', 'emoji', 'user_id'])
        .execute();
    },
    async down(db: Kysely<any>) {
      for (const t of ['message_reactions', 'message_edits', 'message_events']) await db.schema.dropTable(t).execute();
      await db.schema.dropIndex('messages_webhook_key_uq').execute();
      for (const c of ['webhook_key', 'reactions', 'edit_count', 'deleted_by', 'deleted_at', 'edited_at']) {
        await db.schema.alterTable('messages').dropColumn(c).execute();
      }
    },
  },
  // Full-text message search (issue 14): an FTS5 index kept by triggers (SQLite), a generated
  // tsvector column with a GIN index (PostgreSQL), both splitting words with SQLite's rules, and an
  // index for newest-first in the caller's rooms. Dialect-specific, so it lives in search-schema.ts.
  '0006_message_search': {
    up: (db: Kysely<any>) => createMessageSearch(db),
    down: (db: Kysely<any>) => dropMessageSearch(db),
  },
  // Webhook operations (issue 15, OPS-1): per-webhook settings (null: the server's defaults), the
  // overlap of the previous URL after a regenerate, and Idempotency-Key: the post each key stored,
  // unique per (webhook, key) so that two nodes racing with one key store one message; rows older
  // than 24 hours count as absent and are purged in bounded batches (created_at index).
  '0007_webhook_settings': {
    async up(db: Kysely<any>) {
      await db.schema.alterTable('webhooks').addColumn('rate_per_second', 'double precision').execute();
      await db.schema.alterTable('webhooks').addColumn('burst', 'integer').execute();
      await db.schema.alterTable('webhooks').addColumn('allow_broadcast_mentions', 'integer', (c) => c.notNull().defaultTo(1)).execute();
      await db.schema.alterTable('webhooks').addColumn('previous_valid_until', 'bigint').execute();
      await db.schema
        .createTable('webhook_idempotency_keys')
        .addColumn('webhook_id', 'text', (c) => c.notNull().references('webhooks.id').onDelete('cascade'))
        .addColumn('key', 'text', (c) => c.notNull())
        .addColumn('message_id', 'text', (c) => c.notNull())
        .addColumn('room_id', 'text', (c) => c.notNull())
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addPrimaryKeyConstraint('webhook_idempotency_keys_pk', ['webhook_id', 'key'])
        .execute();
      await db.schema.createIndex('webhook_idempotency_keys_created_idx').on('webhook_idempotency_keys').column('created_at').execute();
    },
    async down(db: Kysely<any>) {
      await db.schema.dropTable('webhook_idempotency_keys').execute();
      for (const c of ['previous_valid_until', 'allow_broadcast_mentions', 'burst', 'rate_per_second']) {
        await db.schema.alterTable('webhooks').dropColumn(c).execute();
      }
    },
  },
  // Webhook operations (issue 15, OPS-2): the delivery log (the newest 100 attempts per webhook,
  // ordered by a time-ordered id; never tokens or bodies), 4xx answers counted per webhook and
  // minute for failure notices, the last notice of each webhook (one row: the hourly claim is a
  // conditional upsert on it), and the audit trail of webhook changes per room.
  '0008_webhook_log_audit': {
    async up(db: Kysely<any>) {
      await db.schema
        .createTable('webhook_deliveries')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('webhook_id', 'text', (c) => c.notNull().references('webhooks.id').onDelete('cascade'))
        .addColumn('at', 'bigint', (c) => c.notNull())
        .addColumn('status', 'integer', (c) => c.notNull())
        .addColumn('code', 'text')
        .addColumn('bytes', 'bigint', (c) => c.notNull())
        .addColumn('latency_us', 'bigint', (c) => c.notNull())
        .addColumn('message_id', 'text')
        .addColumn('format', 'text', (c) => c.notNull())
        .execute();
      await db.schema.createIndex('webhook_deliveries_webhook_idx').on('webhook_deliveries').columns(['webhook_id', 'id']).execute();
      await db.schema
        .createTable('webhook_failures')
        .addColumn('webhook_id', 'text', (c) => c.notNull().references('webhooks.id').onDelete('cascade'))
        .addColumn('minute', 'bigint', (c) => c.notNull())
        .addColumn('failures', 'integer', (c) => c.notNull())
        .addColumn('first_at', 'bigint', (c) => c.notNull())
        .addColumn('last_at', 'bigint', (c) => c.notNull())
        .addColumn('last_status', 'integer', (c) => c.notNull())
        .addColumn('last_code', 'text')
        .addPrimaryKeyConstraint('webhook_failures_pk', ['webhook_id', 'minute'])
        .execute();
      await db.schema.createIndex('webhook_failures_minute_idx').on('webhook_failures').column('minute').execute();
      await db.schema
        .createTable('webhook_notices')
        .addColumn('webhook_id', 'text', (c) => c.primaryKey().references('webhooks.id').onDelete('cascade'))
        .addColumn('room_id', 'text', (c) => c.notNull().references('rooms.id').onDelete('cascade'))
        .addColumn('notified_at', 'bigint', (c) => c.notNull())
        .addColumn('since', 'bigint', (c) => c.notNull())
        .addColumn('failures', 'integer', (c) => c.notNull())
        .addColumn('last_status', 'integer', (c) => c.notNull())
        .addColumn('last_code', 'text')
        .execute();
      await db.schema.createIndex('webhook_notices_room_idx').on('webhook_notices').columns(['room_id', 'notified_at']).execute();
      await db.schema
        .createTable('webhook_audit')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('room_id', 'text', (c) => c.notNull().references('rooms.id').onDelete('cascade'))
        .addColumn('at', 'bigint', (c) => c.notNull())
        .addColumn('actor_type', 'text', (c) => c.notNull())
        .addColumn('actor_id', 'text')
        .addColumn('actor_name', 'text', (c) => c.notNull())
        .addColumn('action', 'text', (c) => c.notNull())
        .addColumn('webhook_id', 'text', (c) => c.notNull())
        .addColumn('webhook_name', 'text', (c) => c.notNull())
        .addColumn('details', 'text', (c) => c.notNull())
        .execute();
      await db.schema.createIndex('webhook_audit_room_idx').on('webhook_audit').columns(['room_id', 'id']).execute();
    },
    async down(db: Kysely<any>) {
      for (const t of ['webhook_audit', 'webhook_notices', 'webhook_failures', 'webhook_deliveries']) await db.schema.dropTable(t).execute();
    },
  },
};

class StaticProvider implements MigrationProvider {
  async getMigrations(): Promise<Record<string, Migration>> {
    return migrations;
  }
}

/** Runs every migration not yet run; or, with `upTo`, only those up to that one (tests of a later migration on older data). */
export async function migrateToLatest(db: Kysely<any>, upTo?: string): Promise<void> {
  const migrator = new Migrator({ db, provider: new StaticProvider() });
  const { error, results } = upTo === undefined ? await migrator.migrateToLatest() : await migrator.migrateTo(upTo);
  const failed = results?.find((r) => r.status === 'Error');
  if (error || failed) {
    throw new Error(`Database migration ${failed?.migrationName ?? ''} failed: ${String(error)}`);
  }
}
