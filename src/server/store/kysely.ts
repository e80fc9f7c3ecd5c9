/**
 * Kysely: every runtime import of it goes through this module, so that only one copy (its ES
 * build) is ever loaded. In the built server it is part of the bundle (scripts/build-server.mjs):
 * its ES build is a few hundred small files, which took Node 20 about 200 ms at start-up when
 * loaded from node_modules (issue 7, cold start; Node 20 has no module compile cache). Type-only
 * imports of the package load nothing.
 */
export { CompiledQuery, Kysely, Migrator, PostgresAdapter, PostgresDialect, SqliteDialect, sql } from 'kysely';
export type { DatabaseConnection, Driver, Migration, MigrationProvider, QueryResult, Selectable, SqliteDatabase, Transaction } from 'kysely';
