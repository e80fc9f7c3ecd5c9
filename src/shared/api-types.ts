/** Shapes of the HTTP API and stream (SPEC 5, 6), shared by the server and the web client. */

export type RoomRole = 'administrator' | 'member';

export interface User {
  id: string;
  email: string;
  alias: string;
  displayName: string;
  isSystemAdmin: boolean;
  createdAt: number;
}

export interface Room {
  id: string;
  name: string;
  createdAt: number;
  /** The caller's role in the room. */
  role: RoomRole;
  /** The room's latest message seq (0 when empty). */
  lastSeq: number;
}

export interface Mentions {
  all: boolean;
  present: boolean;
  userIds: string[];
}

export interface MessageSender {
  type: 'user' | 'webhook';
  id: string;
  name: string;
}

export interface Message {
  id: string;
  roomId: string;
  seq: number;
  sender: MessageSender;
  content: string;
  html: string;
  mentions: Mentions;
  createdAt: number;
  /** Only on the stream: whether this message alerts the receiving user. */
  alert?: boolean;
}

export interface RosterMember {
  userId: string;
  displayName: string;
  alias: string;
  email: string;
  role: RoomRole;
  present: boolean;
}

export interface RosterWebhook {
  id: string;
  name: string;
}

export interface Roster {
  members: RosterMember[];
  webhooks: RosterWebhook[];
}

export interface WebhookWithUrl {
  id: string;
  name: string;
  url: string;
  createdAt: number;
}
