/** Rooms, members, roster and messages (SPEC 6). */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from '../http/typebox.js';
import type { NotifyLevel, RoomRole as RoomRoleName } from '../../shared/api-types.js';
import { LIMITS } from '../../shared/limits.js';
import { presentMember, presentMessage, presentRoom } from '../presenters.js';
import { Email, Member, MemberSettingsBody, Message, ReadBody, ReadState, Room, RoomIdParams, RoomRole, RoomUserParams, Roster, Uuid, errors } from '../http/schemas.js';
import type { RouteContext } from './context.js';

const RoomName = Type.String({ minLength: 1, maxLength: LIMITS.roomNameMaxChars });
const Seq = Type.Integer({ minimum: 0, description: 'must be a whole number' });

export const roomRoutes = (rc: RouteContext): FastifyPluginAsyncTypebox => async (app) => {
  const { rooms, messages, readState } = rc.services;

  app.post('/rooms', {
    schema: {
      tags: ['rooms'],
      summary: 'Create a room; the caller becomes its administrator',
      body: Type.Object({ name: RoomName }, { additionalProperties: false }),
      response: { 201: Type.Object({ room: Room }), ...errors(400, 401) },
    },
  }, async (req, reply) => {
    const { user } = await rc.caller(req);
    return reply.code(201).send({ room: presentRoom(await rooms.create(user, req.body.name)) });
  });

  app.get('/rooms', {
    schema: { tags: ['rooms'], summary: 'The caller\'s rooms', response: { 200: Type.Object({ rooms: Type.Array(Room) }), ...errors(401) } },
  }, async (req) => {
    const { user } = await rc.caller(req);
    return { rooms: (await rooms.list(user)).map(presentRoom) };
  });

  app.get('/rooms/:roomId', {
    schema: { tags: ['rooms'], summary: 'One room (members)', params: RoomIdParams, response: { 200: Type.Object({ room: Room }), ...errors(401, 404) } },
  }, async (req) => {
    const { user } = await rc.caller(req);
    return { room: presentRoom(await rooms.get(user, req.params.roomId)) };
  });

  app.put('/rooms/:roomId/read', {
    schema: {
      tags: ['rooms'],
      summary: 'Mark the room read up to a seq, for the caller on every device',
      description:
        'A seq past the room\'s last message is clamped to it; one at or below the current lastReadSeq changes nothing (reading never moves backwards). ' +
        'Answers the read state; every stream of the caller gets it as a room.read frame. Counts stop at ' + LIMITS.unreadCountCap + '.',
      params: RoomIdParams,
      body: ReadBody,
      response: { 200: ReadState, ...errors(400, 401, 404) },
    },
  }, async (req) => {
    const { user } = await rc.caller(req);
    return readState.markRead(user, req.params.roomId, req.body.seq);
  });

  app.patch('/rooms/:roomId/settings', {
    schema: {
      tags: ['rooms'],
      summary: 'Change the caller\'s own notification settings in the room (notify, muted)',
      description: 'The caller\'s other streams get room.changed.',
      params: RoomIdParams,
      body: MemberSettingsBody,
      response: { 200: Type.Object({ room: Room }), ...errors(400, 401, 404) },
    },
  }, async (req) => {
    const { user } = await rc.caller(req);
    const { notify, muted } = req.body;
    return { room: presentRoom(await readState.setSettings(user, req.params.roomId, { ...(notify !== undefined ? { notify: notify as NotifyLevel } : {}), ...(muted !== undefined ? { muted } : {}) })) };
  });

  app.post('/rooms/:roomId/members', {
    schema: {
      tags: ['members'],
      summary: 'Add a member by userId or email (room administrators)',
      params: RoomIdParams,
      body: Type.Object(
        { userId: Type.Optional(Uuid), email: Type.Optional(Email), role: Type.Optional(RoomRole) },
        { additionalProperties: false, anyOf: [{ required: ['userId'] }, { required: ['email'] }], description: 'needs either userId or email' },
      ),
      response: { 201: Type.Object({ member: Member }), ...errors(400, 401, 403, 404, 409) },
    },
  }, async (req, reply) => {
    const { user } = await rc.caller(req);
    const { userId, email, role } = req.body;
    const member = await rooms.addMember(user, req.params.roomId, { ...(userId ? { userId } : {}), ...(email ? { email } : {}), ...(role ? { role: role as RoomRoleName } : {}) });
    return reply.code(201).send({ member: presentMember(member) });
  });

  app.patch('/rooms/:roomId/members/:userId', {
    schema: {
      tags: ['members'],
      summary: 'Change a member\'s role (room administrators)',
      params: RoomUserParams,
      body: Type.Object({ role: RoomRole }, { additionalProperties: false }),
      response: { 200: Type.Object({ member: Member }), ...errors(400, 401, 403, 404, 409) },
    },
  }, async (req) => {
    const { user } = await rc.caller(req);
    return { member: presentMember(await rooms.setRole(user, req.params.roomId, req.params.userId, req.body.role as RoomRoleName)) };
  });

  app.delete('/rooms/:roomId/members/:userId', {
    schema: {
      tags: ['members'],
      summary: 'Remove a member (room administrators; any member may remove themselves)',
      params: RoomUserParams,
      response: { 204: Type.Null(), ...errors(401, 403, 404, 409) },
    },
  }, async (req, reply) => {
    const { user } = await rc.caller(req);
    await rooms.removeMember(user, req.params.roomId, req.params.userId);
    return reply.code(204).send(null);
  });

  app.get('/rooms/:roomId/roster', {
    schema: { tags: ['rooms'], summary: 'Members with presence, and webhooks (no URLs)', params: RoomIdParams, response: { 200: Roster, ...errors(401, 404) } },
  }, async (req) => {
    const { user } = await rc.caller(req);
    return rooms.roster(user, req.params.roomId);
  });

  app.get('/rooms/:roomId/messages', {
    schema: {
      tags: ['messages'],
      summary: 'Messages in seq order: after a seq, before a seq, or the latest',
      params: RoomIdParams,
      querystring: Type.Object(
        { after: Type.Optional(Seq), before: Type.Optional(Seq), limit: Type.Optional(Type.Integer({ minimum: 1, maximum: LIMITS.messagePageMax })) },
        { additionalProperties: false },
      ),
      response: { 200: Type.Object({ messages: Type.Array(Message) }), ...errors(400, 401, 404) },
    },
  }, async (req) => {
    const { user } = await rc.caller(req);
    return { messages: (await messages.list(user, req.params.roomId, req.query)).map(presentMessage) };
  });

  app.post('/rooms/:roomId/messages', {
    schema: {
      tags: ['messages'],
      summary: 'Post a message as the caller (same formatting and limits as webhooks)',
      params: RoomIdParams,
      body: Type.Object({ content: Type.String() }, { additionalProperties: false }),
      response: { 201: Type.Object({ message: Message }), ...errors(400, 401, 404, 413) },
    },
  }, async (req, reply) => {
    const { user } = await rc.caller(req);
    const message = await messages.postAsUser(user, req.params.roomId, req.body.content);
    return reply.code(201).send({ message: presentMessage(message) });
  });
};
