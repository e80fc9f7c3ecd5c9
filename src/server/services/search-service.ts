/**
 * Full-text message search (issue 14): GET /api/v1/search. The caller sees only messages of rooms
 * they are a member of now (the store's query joins their memberships); a roomId of any other room
 * is 404, as on every room route.
 */
import { LIMITS } from '../../shared/limits.js';
import { AppError } from '../errors.js';
import type { MessageRecord, SearchQuery, UserRecord } from '../store/types.js';
import { requireMember } from './access.js';
import type { ServiceContext } from './context.js';
import { decodeSearchCursor, encodeSearchCursor, parseSearchQuery, parseSearchTime, snippetHtml } from './search-query.js';

export interface SearchInput {
  q: string;
  roomId?: string | undefined;
  /** Messages this member posted. */
  userId?: string | undefined;
  /** Messages this webhook posted. */
  webhookId?: string | undefined;
  since?: string | undefined;
  until?: string | undefined;
  cursor?: string | undefined;
  limit?: number | undefined;
}

export interface SearchResultRecord {
  message: MessageRecord;
  roomName: string;
  /** HTML: the text around the matches, escaped, with the matches in <mark>. */
  snippet: string;
}

export interface SearchPage {
  results: SearchResultRecord[];
  /** Pass as `cursor` for the next (older) page; null when this is the last. */
  nextCursor: string | null;
}

export class SearchService {
  constructor(private readonly ctx: ServiceContext) {}

  async search(actor: UserRecord, input: SearchInput): Promise<SearchPage> {
    const terms = parseSearchQuery(input.q);
    if (input.userId !== undefined && input.webhookId !== undefined) {
      throw new AppError('InvalidRequest', 'Use either userId (messages of a member) or webhookId (messages of a webhook), not both.');
    }
    const query: SearchQuery = { userId: actor.id, terms, limit: (input.limit ?? LIMITS.searchPageDefault) + 1 };
    if (input.since !== undefined) query.since = parseSearchTime(input.since, 'since');
    if (input.until !== undefined) query.until = parseSearchTime(input.until, 'until');
    if (query.since !== undefined && query.until !== undefined && query.since > query.until) {
      throw new AppError('InvalidRequest', 'since is after until; swap them.');
    }
    if (input.cursor !== undefined) query.after = decodeSearchCursor(input.cursor);
    if (input.userId !== undefined) query.senderUserId = input.userId;
    if (input.webhookId !== undefined) query.webhookId = input.webhookId;
    if (input.roomId !== undefined) {
      // 404 for a room the caller is not in, like every room route (rooms are not enumerable);
      // the query's own membership join would only have found nothing.
      await requireMember(this.ctx.store, actor, input.roomId);
      query.roomId = input.roomId;
    }
    const hits = await this.ctx.store.searchMessages(query);
    const page = hits.slice(0, query.limit - 1);
    const last = page.at(-1);
    return {
      results: page.map((h) => ({ message: h.message, roomName: h.roomName, snippet: snippetHtml(h.snippet) })),
      nextCursor: hits.length > page.length && last ? encodeSearchCursor({ createdAt: last.message.createdAt, id: last.message.id }) : null,
    };
  }
}
