/**
 * TypeBox's `Type` builder, loaded through its CommonJS build bundled into one file (vendor.ts), for
 * the same reason as store/kysely.ts: 120 ms at start-up for its many files, 20 ms for the bundle
 * (issue 7, cold start). Every runtime import of TypeBox goes through here; types come from the
 * package itself (type-only imports load nothing).
 */
import type * as TypeBoxModule from '@sinclair/typebox';
import { requireVendored } from '../vendor.js';

export const { Type } = requireVendored<typeof TypeBoxModule>('typebox', '@sinclair/typebox');
export type { Static, TSchema } from '@sinclair/typebox';
