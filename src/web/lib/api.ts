/**
 * The HTTP API (SPEC 6) as the browser calls it: same-origin, the HttpOnly session cookie, JSON
 * bodies. The server checks Origin on cookie-authenticated writes, which browsers send by themselves.
 * Errors carry the server's {Code, Message} so screens can show the Message as is.
 */
import type { Message, MessageEdit, NotifyLevel, PushPublicKey, PushSubscriptionInput, ReadState, Room, RoomRole, Roster, User, WebhookDelivery, WebhookList, WebhookWithUrl } from '../../shared/api-types';
import type { AuditEntry, WebhookSettings } from '../../shared/api-types';

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

/** Called when any request answers 401: the session ended (signed out elsewhere, expired). */
let onUnauthorized: (() => void) | null = null;
export function setUnauthorizedHandler(handler: (() => void) | null): void {
  onUnauthorized = handler;
}

async function request<T>(method: string, path: string, body?: unknown, options: { quiet401?: boolean } = {}): Promise<T> {
  const headers: Record<string, string> = { accept: 'application/json' };
  if (body !== undefined) headers['content-type'] = 'application/json';
  let res: Response;
  try {
    res = await fetch(`/api/v1${path}`, {
      method,
      headers,
      credentials: 'same-origin',
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    });
  } catch {
    throw new ApiError(0, 'NetworkError', 'Cannot reach the server. Check your connection and try again.');
  }
  if (res.status === 204) return undefined as T;
  const text = await res.text();
  let parsed: unknown;
  try {
    parsed = text ? JSON.parse(text) : undefined;
  } catch {
    parsed = undefined;
  }
  if (!res.ok) {
    const err = parsed as { Code?: unknown; Message?: unknown } | undefined;
    const code = typeof err?.Code === 'string' ? err.Code : 'Error';
    const message = typeof err?.Message === 'string' ? err.Message : `The server answered ${res.status}; try again.`;
    if (res.status === 401 && !options.quiet401) onUnauthorized?.();
    throw new ApiError(res.status, code, message);
  }
  return parsed as T;
}

export interface NewUser {
  email: string;
  alias: string;
  displayName: string;
  password: string;
}

export interface MemberAdded {
  userId: string;
  displayName: string;
  alias: string;
  email: string;
  role: RoomRole;
}

/** One hit of GET /api/v1/search. */
export interface SearchResult {
  message: Message;
  roomName: string;
  /** Server-escaped HTML whose only tags are <mark>…</mark> around the matched words. */
  snippet: string;
}

export interface SearchPage {
  results: SearchResult[];
  nextCursor: string | null;
}

export interface SearchQuery {
  q: string;
  roomId?: string | undefined;
  userId?: string | undefined;
  webhookId?: string | undefined;
  since?: number | undefined;
  until?: number | undefined;
  cursor?: string | undefined;
  limit?: number | undefined;
}

// ---- Webhook operations (issue 15): the shared API types, under the names the dialogs use.

export type { AuditAction, AuditEntry, DeliveryFormat, WebhookFailing, WebhookSettings } from '../../shared/api-types';
/** A webhook as the list, create, PATCH and regenerate give it. */
export type WebhookInfo = WebhookWithUrl;
/** One attempt in a webhook's delivery log (never its token or body). */
export type Delivery = WebhookDelivery;

/** The stream frame sent to a room's administrators when one of its webhooks keeps failing. */
export type { WebhookFailingFrame } from '../../shared/stream-protocol';

const messagePath = (roomId: string, messageId: string) => `/rooms/${encodeURIComponent(roomId)}/messages/${encodeURIComponent(messageId)}`;
const webhookPath = (roomId: string, webhookId: string) => `/rooms/${encodeURIComponent(roomId)}/webhooks/${encodeURIComponent(webhookId)}`;

export const api = {
  needsSetup: () => request<{ needsSetup: boolean }>('GET', '/setup'),
  setup: (user: NewUser) => request<{ token: string; user: User }>('POST', '/setup', user),
  login: (email: string, password: string) => request<{ token: string; user: User }>('POST', '/auth/login', { email, password }, { quiet401: true }),
  logout: () => request<void>('POST', '/auth/logout', undefined, { quiet401: true }),
  publicKey: () => request<PushPublicKey>('GET', '/push/public-key'),
  saveSubscription: (subscription: PushSubscriptionInput) => request<{ subscription: unknown }>('POST', '/push-subscriptions', subscription),
  deleteSubscription: (endpoint: string) => request<void>('DELETE', '/push-subscriptions', { endpoint }, { quiet401: true }),
  me: () => request<{ user: User }>('GET', '/me', undefined, { quiet401: true }),

  createUser: (user: NewUser) => request<{ user: User }>('POST', '/users', user),

  rooms: () => request<{ rooms: Room[] }>('GET', '/rooms'),
  room: (roomId: string) => request<{ room: Room }>('GET', `/rooms/${encodeURIComponent(roomId)}`),
  createRoom: (name: string) => request<{ room: Room }>('POST', '/rooms', { name }),
  addMember: (roomId: string, email: string, role: RoomRole) =>
    request<{ member: MemberAdded }>('POST', `/rooms/${encodeURIComponent(roomId)}/members`, { email, role }),
  roster: (roomId: string) => request<Roster>('GET', `/rooms/${encodeURIComponent(roomId)}/roster`),
  markRead: (roomId: string, seq: number) => request<ReadState>('PUT', `/rooms/${encodeURIComponent(roomId)}/read`, { seq }),
  roomSettings: (roomId: string, settings: { notify?: NotifyLevel; muted?: boolean }) =>
    request<{ room: Room }>('PATCH', `/rooms/${encodeURIComponent(roomId)}/settings`, settings),

  messages: (roomId: string, query: { after?: number; before?: number; limit?: number }) => {
    const q = new URLSearchParams();
    if (query.after !== undefined) q.set('after', String(query.after));
    if (query.before !== undefined) q.set('before', String(query.before));
    if (query.limit !== undefined) q.set('limit', String(query.limit));
    const qs = q.toString();
    return request<{ messages: Message[] }>('GET', `/rooms/${encodeURIComponent(roomId)}/messages${qs ? `?${qs}` : ''}`);
  },
  postMessage: (roomId: string, content: string) => request<{ message: Message }>('POST', `/rooms/${encodeURIComponent(roomId)}/messages`, { content }),
  editMessage: (roomId: string, messageId: string, content: string) => request<{ message: Message }>('PATCH', messagePath(roomId, messageId), { content }),
  deleteMessage: (roomId: string, messageId: string) => request<void>('DELETE', messagePath(roomId, messageId)),
  messageEdits: (roomId: string, messageId: string) => request<{ edits: MessageEdit[] }>('GET', `${messagePath(roomId, messageId)}/edits`),
  /** Adds (on) or removes my reaction; the emoji goes into the path URL-encoded. */
  react: (roomId: string, messageId: string, emoji: string, on: boolean) =>
    request<{ message: Message }>(on ? 'PUT' : 'DELETE', `${messagePath(roomId, messageId)}/reactions/${encodeURIComponent(emoji)}`),

  search: (query: SearchQuery) => {
    const q = new URLSearchParams();
    for (const [key, value] of Object.entries(query)) if (value !== undefined && value !== '') q.set(key, String(value));
    return request<SearchPage>('GET', `/search?${q.toString()}`);
  },

  message: (roomId: string, messageId: string) => request<{ message: Message }>('GET', messagePath(roomId, messageId)),

  webhooks: (roomId: string) => request<WebhookInfo[] | (WebhookList & { webhooks: WebhookInfo[] })>('GET', `/rooms/${encodeURIComponent(roomId)}/webhooks`).then(
    // The server answers {webhooks, publicUrl, publicUrlSet}; SPEC 6 writes the list as a bare
    // array, so accept that too (without the PUBLIC_URL fields) rather than show an empty list.
    (r): Partial<WebhookList> & { webhooks: WebhookInfo[] } => (Array.isArray(r) ? { webhooks: r } : { ...r, webhooks: r?.webhooks ?? [] }),
  ),
  createWebhook: (roomId: string, name: string) =>
    request<WebhookInfo>('POST', `/rooms/${encodeURIComponent(roomId)}/webhooks`, { name }),
  renameWebhook: (roomId: string, webhookId: string, name: string) =>
    request<unknown>('PATCH', `/rooms/${encodeURIComponent(roomId)}/webhooks/${encodeURIComponent(webhookId)}`, { name }),
  deleteWebhook: (roomId: string, webhookId: string) =>
    request<void>('DELETE', `/rooms/${encodeURIComponent(roomId)}/webhooks/${encodeURIComponent(webhookId)}`),
  /** keepOldUrlForHours > 0: the old URL keeps working that long (0, the default, is Chime's immediate 404). */
  regenerateWebhook: (roomId: string, webhookId: string, keepOldUrlForHours = 0) =>
    request<WebhookInfo>(
      'POST',
      `${webhookPath(roomId, webhookId)}/regenerate`,
      keepOldUrlForHours > 0 ? { keepOldUrlForHours } : undefined,
    ),
  updateWebhookSettings: (roomId: string, webhookId: string, settings: Partial<WebhookSettings>) =>
    request<WebhookInfo>('PATCH', webhookPath(roomId, webhookId), { settings }),
  webhookDeliveries: (roomId: string, webhookId: string) => request<{ deliveries: Delivery[] }>('GET', `${webhookPath(roomId, webhookId)}/deliveries`),
  testWebhook: (roomId: string, webhookId: string) =>
    request<{ messageId: string | null; delivery: Delivery }>('POST', `${webhookPath(roomId, webhookId)}/test`),
  audit: (roomId: string, query: { before?: string; limit?: number } = {}) => {
    const q = new URLSearchParams();
    if (query.before !== undefined) q.set('before', query.before);
    if (query.limit !== undefined) q.set('limit', String(query.limit));
    const qs = q.toString();
    return request<{ entries: AuditEntry[] }>('GET', `/rooms/${encodeURIComponent(roomId)}/audit${qs ? `?${qs}` : ''}`);
  },
};

export function errorMessage(e: unknown): string {
  if (e instanceof ApiError) return e.message;
  if (e instanceof Error) return e.message;
  return 'Something went wrong; try again.';
}
