/**
 * Kysely, loaded through its CommonJS build bundled into one file (vendor.ts). Its ES-module build
 * is a few hundred small files, which took Node 20 about 200 ms at start-up, and the bundle about
 * 35 ms (issue 7, cold start; Node 20 has no module compile cache). Every runtime import of Kysely
 * goes through this module, so that only one copy is ever loaded. Types still come from the
 * package itself: type-only imports load nothing.
 */
import type * as KyselyModule from 'kysely';
import { requireVendored } from '../vendor.js';

const kysely = requireVendored<typeof KyselyModule>('kysely', 'kysely');

export const { Kysely, Migrator, PostgresAdapter, PostgresDialect, SqliteDialect, sql } = kysely;
// The classes' instance types, under the same names as their values.
export type Kysely<DB> = KyselyModule.Kysely<DB>;
export type Migrator = KyselyModule.Migrator;
export type PostgresAdapter = KyselyModule.PostgresAdapter;
export type PostgresDialect = KyselyModule.PostgresDialect;
export type SqliteDialect = KyselyModule.SqliteDialect;
export type { Migration, MigrationProvider, Selectable, SqliteDatabase, Transaction } from 'kysely';
