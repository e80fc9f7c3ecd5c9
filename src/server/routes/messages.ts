/** One message: read it, edit it, delete it, react to it, see its earlier versions (issue 14). */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from '../http/typebox.js';
import { LIMITS } from '../../shared/limits.js';
import { presentMessage } from '../presenters.js';
import { Message, MessageEdit, RoomMessageParams, Uuid, errors } from '../http/schemas.js';
import type { RouteContext } from './context.js';

const ReactionParams = Type.Object({
  roomId: Uuid,
  messageId: Uuid,
  emoji: Type.String({ minLength: 1, maxLength: 80, description: 'one emoji, URL-encoded (e.g. %E2%9C%85 for ✅), or a gemoji shortcode such as white_check_mark' }),
});

export const messageRoutes = (rc: RouteContext): FastifyPluginAsyncTypebox => async (app) => {
  const { messageChanges } = rc.services;

  app.get('/rooms/:roomId/messages/:messageId', {
    schema: { tags: ['messages'], summary: 'One message (members); a deleted one is a tombstone', params: RoomMessageParams, response: { 200: Type.Object({ message: Message }), ...errors(400, 401, 404) } },
  }, async (req) => {
    const { user } = await rc.caller(req);
    return { message: presentMessage(await messageChanges.get(user, req.params.roomId, req.params.messageId)) };
  });

  app.patch('/rooms/:roomId/messages/:messageId', {
    schema: {
      tags: ['messages'],
      summary: 'Edit your own message',
      description:
        'Only the author, and only user messages (a webhook changes its messages by posting with the same Key). Same formatting and limits as posting. ' +
        'The old version goes to the history; the message shows as edited; every stream of the room gets message.updated (change "edited") with a seq of its own. ' +
        'Only mentions the edit adds alert (newAlert on the frame). The same content again changes nothing.',
      params: RoomMessageParams,
      body: Type.Object({ content: Type.String() }, { additionalProperties: false }),
      response: { 200: Type.Object({ message: Message }), ...errors(400, 401, 403, 404, 409, 413) },
    },
  }, async (req) => {
    const { user } = await rc.caller(req);
    return { message: presentMessage(await messageChanges.edit(user, req.params.roomId, req.params.messageId, req.body.content)) };
  });

  app.delete('/rooms/:roomId/messages/:messageId', {
    schema: {
      tags: ['messages'],
      summary: 'Delete a message: your own, or any message as a room administrator',
      description: 'Leaves a tombstone (id, seq, sender and time stay; content, history and reactions go); message.updated (change "deleted") on the stream. Deleting a deleted message answers 204 again.',
      params: RoomMessageParams,
      response: { 204: Type.Null(), ...errors(400, 401, 403, 404) },
    },
  }, async (req, reply) => {
    const { user } = await rc.caller(req);
    await messageChanges.delete(user, req.params.roomId, req.params.messageId);
    return reply.code(204).send(null);
  });

  app.get('/rooms/:roomId/messages/:messageId/edits', {
    schema: {
      tags: ['messages'],
      summary: 'Earlier versions of an edited message (its author and room administrators)',
      description: `Oldest first; the last ${LIMITS.editHistoryMax} are kept. Deleting the message deletes them.`,
      params: RoomMessageParams,
      response: { 200: Type.Object({ edits: Type.Array(MessageEdit) }), ...errors(400, 401, 403, 404) },
    },
  }, async (req) => {
    const { user } = await rc.caller(req);
    return { edits: await messageChanges.history(user, req.params.roomId, req.params.messageId) };
  });

  for (const method of ['put', 'delete'] as const) {
    app[method]('/rooms/:roomId/messages/:messageId/reactions/:emoji', {
      schema: {
        tags: ['messages'],
        summary: method === 'put' ? 'Add your reaction (members; ✅ is the usual acknowledgement of an alert)' : 'Remove your reaction',
        description:
          `One reaction per user per emoji; at most ${LIMITS.reactionsPerMessage} different emoji on a message. Doing it twice changes nothing. ` +
          'Answers the message; every stream of the room gets message.updated (change "reactions").',
        params: ReactionParams,
        response: { 200: Type.Object({ message: Message }), ...errors(400, 401, 404, 409) },
      },
    }, async (req) => {
      const { user } = await rc.caller(req);
      const { roomId, messageId, emoji } = req.params;
      return { message: presentMessage(await messageChanges.react(user, roomId, messageId, emoji, method === 'put')) };
    });
  }
};
