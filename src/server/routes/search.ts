/** Full-text message search over the caller's rooms (issue 14; docs/search.md). */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { SearchResponse as SearchResponseBody } from '../../shared/api-types.js';
import { LIMITS } from '../../shared/limits.js';
import { presentMessage } from '../presenters.js';
import { Message, errors } from '../http/schemas.js';
import { Type } from '../http/typebox.js';
import type { RouteContext } from './context.js';

const Time = (bound: string) =>
  Type.String({
    minLength: 1,
    maxLength: 40,
    description: `${bound}, inclusive: epoch milliseconds, an ISO 8601 date (the whole day, UTC) or date-time (UTC unless it has an offset)`,
  });

export const SearchQuerystring = Type.Object(
  {
    q: Type.String({
      maxLength: LIMITS.searchQueryMaxChars,
      description:
        'words (all must match), "quoted words" for a phrase, a * at the end of a word for a prefix (deploy*); anything else is plain text. ' +
        'Case and Latin accents do not matter; punctuation separates words (ci.example.com is the phrase "ci example com").',
    }),
    roomId: Type.Optional(Type.String({ format: 'uuid', description: 'only this room (a room you are a member of; any other answers 404)' })),
    userId: Type.Optional(Type.String({ format: 'uuid', description: 'only messages this member posted' })),
    webhookId: Type.Optional(Type.String({ format: 'uuid', description: 'only messages this webhook posted' })),
    since: Type.Optional(Time('posted at or after')),
    until: Type.Optional(Time('posted at or before')),
    cursor: Type.Optional(Type.String({ minLength: 1, maxLength: 200, description: 'the nextCursor of the previous page' })),
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: LIMITS.searchPageMax, description: `results per page (default ${LIMITS.searchPageDefault})` })),
  },
  { additionalProperties: false },
);

export const SearchResult = Type.Object({
  message: Message,
  roomName: Type.String(),
  snippet: Type.String({ description: 'HTML: the text around the matches, escaped, each match in <mark>…</mark>; no other markup' }),
});

export const SearchResponse = Type.Object({
  results: Type.Array(SearchResult, { description: 'newest first' }),
  nextCursor: Type.Union([Type.String(), Type.Null()], { description: 'pass as cursor for the next (older) page; null on the last page' }),
});

export const searchRoutes = (rc: RouteContext): FastifyPluginAsyncTypebox => async (app) => {
  const { search } = rc.services;

  app.get('/search', {
    schema: {
      tags: ['messages'],
      summary: 'Search the messages of the caller\'s rooms, newest first',
      description:
        'Only rooms the caller is a member of now; deleted messages never match. An empty query (nothing but punctuation, say) answers 400. ' +
        'Pages: pass nextCursor as cursor until it is null.',
      querystring: SearchQuerystring,
      response: { 200: SearchResponse, ...errors(400, 401, 404) },
    },
  }, async (req) => {
    const { user } = await rc.caller(req);
    const page = await search.search(user, req.query);
    const body: SearchResponseBody = {
      results: page.results.map((r) => ({ message: presentMessage(r.message), roomName: r.roomName, snippet: r.snippet })),
      nextCursor: page.nextCursor,
    };
    return body;
  });
};
