/**
 * TypeBox's `Type` builder. Every runtime import of TypeBox goes through here, for the same reason
 * as store/kysely.ts: one copy (its ES build), which the built server bundles rather than loading
 * its many files at start-up (120 ms on Node 20, issue 7). Type-only imports load nothing.
 */
export { Type } from '@sinclair/typebox';
export type { Static, TSchema } from '@sinclair/typebox';
