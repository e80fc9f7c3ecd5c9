/**
 * The signed-in client's state: rooms with their message logs and badges, rosters, the room on
 * screen, and the stream's frames applied to them. Screens read immutable snapshots
 * (useSyncExternalStore) and call the methods; the connection, resume and gap replays are in
 * stream-sync.ts, the stream's ordering rules in room-log.ts.
 */
import type { Message, Room, Roster, User } from '../../shared/api-types';
import { LIMITS } from '../../shared/limits';
import { ApiError, type WebhookFailingFrame, api } from '../lib/api';
import { alertsMe } from '../lib/format';
import { type LogEvent, type RoomLog, createdEvent, emptyLog, findMessage, loadLatest, loadOlder, mergeFetched, olderCursor, receiveEvents } from '../lib/room-log';
import type { ServerFrame, StreamStatus } from '../lib/stream';
import { applyServerRead, countAccepted, newestShown, readStateOf } from './read-tracking';
import { StreamSync } from './stream-sync';

export interface RoomEntry {
  room: Room;
  log: RoomLog;
  /** Messages from others after my read position: the server's count, kept live (read-tracking.ts). */
  unread: number;
  /** Of those, the ones that alert me (SPEC 4). */
  alerts: number;
  /** The highest seq `unread` and `alerts` include. */
  countedThrough: number;
  /** While the room is on screen: my read position when it was opened ("New messages" goes after it); else null. */
  dividerAfter: number | null;
  /** How many unread mentions the room had when it was opened (for "Jump to first unread mention"). */
  mentionsAtOpen: number;
  loadingLatest: boolean;
  loadingOlder: boolean;
  loadError: string | null;
  /** The last message sent from this client (its composer), so the list can scroll to it. */
  lastSentId: string | null;
}

export interface ChatState {
  me: User;
  rooms: Readonly<Record<string, RoomEntry>>;
  /** The room on screen (null on the phone's room list). */
  activeRoomId: string | null;
  rosters: Readonly<Record<string, Roster>>;
  connection: StreamStatus;
  /** Whether the page is visible (a hidden page has no room open, for presence). */
  visible: boolean;
  /** Per room: the `webhook.failing` notices (room administrators only) not dismissed yet, newest first, one per webhook. */
  webhookFailures: Readonly<Record<string, readonly WebhookFailingFrame[]>>;
}

export interface ChatStoreOptions {
  me: User;
  /** A message from someone else arrived (new to this client); `alerting`: it alerts me. Notifications decide (lib/notifications.ts). */
  onMessage?: (room: Room, message: Message, alerting: boolean) => void;
  /** The session ended (401 from the server). */
  onSignedOut?: () => void;
}

/** Reading is sent to the server at most this often per room (scrolling through a busy room). */
const MARK_READ_DEBOUNCE_MS = 300;
const HISTORY_PAGE = LIMITS.messagePageDefault;

export function sortRooms(rooms: readonly RoomEntry[]): RoomEntry[] {
  return [...rooms].sort((a, b) => a.room.name.localeCompare(b.room.name, undefined, { sensitivity: 'base' }) || a.room.id.localeCompare(b.room.id));
}

export class ChatStore {
  private state: ChatState;
  private listeners = new Set<() => void>();
  private readonly sync: StreamSync;
  private disposed = false;
  private generation = 0;
  /** Per room: the pending PUT …/read timer, and the last seq sent. */
  private readTimers = new Map<string, number>();
  private readSent = new Map<string, number>();
  private connectedBefore = false;

  constructor(private readonly options: ChatStoreOptions) {
    this.state = {
      me: options.me,
      rooms: {},
      activeRoomId: null,
      rosters: {},
      connection: 'connecting',
      visible: typeof document === 'undefined' ? true : document.visibilityState !== 'hidden',
      webhookFailures: {},
    };
    this.sync = new StreamSync({
      watermarkOf: (roomId) => this.state.rooms[roomId]?.log.watermark,
      watermarks: () => {
        const rooms: Record<string, number> = {};
        for (const [id, e] of Object.entries(this.state.rooms)) rooms[id] = e.log.watermark;
        return rooms;
      },
      roomToOpen: () => (this.state.visible ? this.state.activeRoomId : null),
      isDisposed: () => this.disposed,
      frame: (f) => this.onFrame(f),
      status: (s) => this.set({ connection: s }),
      repeatedFailure: () => {
        // The socket cannot even open: find out whether the session ended.
        api.me().catch((e) => {
          if (e instanceof ApiError && e.status === 401) this.options.onSignedOut?.();
        });
      },
    });
  }

  // ---- React binding ----
  subscribe = (listener: () => void): (() => void) => {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  };

  getState = (): ChatState => this.state;

  private set(patch: Partial<ChatState>): void {
    this.state = { ...this.state, ...patch };
    for (const l of this.listeners) l();
  }

  private setRoom(roomId: string, update: (e: RoomEntry) => RoomEntry): void {
    const entry = this.state.rooms[roomId];
    if (!entry) return;
    this.set({ rooms: { ...this.state.rooms, [roomId]: update(entry) } });
  }

  // ---- lifecycle ----
  async start(): Promise<void> {
    // React's StrictMode starts, disposes and starts again: only the latest start may connect.
    const generation = ++this.generation;
    this.disposed = false;
    try {
      await this.refreshRooms();
    } catch (e) {
      if (e instanceof ApiError && e.status === 401) throw e;
      // Offline for now: the stream's `ready` lists the rooms once it connects.
    }
    if (this.disposed || generation !== this.generation) return;
    this.sync.connect();
  }

  dispose(): void {
    this.disposed = true;
    this.generation++;
    this.sync.stop();
    for (const t of this.readTimers.values()) window.clearTimeout(t);
    this.readTimers.clear();
  }

  /** Reconnect at once if the connection is down (network back, tab visible again). */
  nudge(): void {
    this.sync.nudge();
  }

  private entryFor(room: Room, watermark = room.lastSeq): RoomEntry {
    return {
      room,
      log: emptyLog(watermark),
      unread: room.unreadCount,
      alerts: room.mentionCount,
      countedThrough: room.lastSeq,
      dividerAfter: null,
      mentionsAtOpen: 0,
      loadingLatest: false,
      loadingOlder: false,
      loadError: null,
      lastSentId: null,
    };
  }

  /** Merges the server's room list: new rooms get entries, gone ones are dropped, names and roles refresh. */
  async refreshRooms(watermarks?: Record<string, number>): Promise<void> {
    const { rooms } = await api.rooms();
    const next: Record<string, RoomEntry> = {};
    for (const room of rooms) {
      const existing = this.state.rooms[room.id];
      next[room.id] = existing ? this.withServerRoom(existing, room) : this.entryFor(room, watermarks?.[room.id] ?? room.lastSeq);
    }
    const active = this.state.activeRoomId && next[this.state.activeRoomId] ? this.state.activeRoomId : null;
    this.set({ rooms: next, activeRoomId: active });
  }

  // ---- what is on screen (presence: SPEC 1, 5) ----
  selectRoom(roomId: string | null): void {
    if (roomId !== null && !this.state.rooms[roomId]) return;
    const previous = this.state.activeRoomId;
    if (previous !== roomId) {
      // "New messages" marks what arrived since I left: it is set on opening, and cleared on leaving.
      if (previous) this.setRoom(previous, (e) => ({ ...e, dividerAfter: null, mentionsAtOpen: 0 }));
      if (roomId) this.setRoom(roomId, (e) => this.withDivider(e));
    }
    this.set({ activeRoomId: roomId });
    this.sync.syncOpenRoom();
    if (roomId) {
      this.markSeen(roomId);
      const entry = this.state.rooms[roomId]!;
      if (!entry.log.loaded && !entry.loadingLatest) void this.loadLatest(roomId);
      void this.refreshRoster(roomId);
    }
  }

  setVisible(visible: boolean): void {
    if (visible === this.state.visible) return;
    this.set({ visible });
    this.sync.syncOpenRoom();
    if (visible && this.state.activeRoomId) {
      this.setRoom(this.state.activeRoomId, (e) => (e.dividerAfter === null ? this.withDivider(e) : e));
      this.markSeen(this.state.activeRoomId);
    }
    if (visible) this.nudge();
  }

  private isOnScreen(roomId: string): boolean {
    return this.state.visible && this.state.activeRoomId === roomId;
  }

  /** The room is on screen: its badge clears now, and the server hears (debounced) up to the newest message shown. */
  markSeen(roomId: string): void {
    const e = this.state.rooms[roomId];
    if (!e) return;
    const newest = newestShown(e.log);
    if (e.unread > 0 || e.alerts > 0 || newest > e.room.lastReadSeq) {
      this.setRoom(roomId, (x) => ({ ...x, unread: 0, alerts: 0, room: newest > x.room.lastReadSeq ? { ...x.room, lastReadSeq: newest } : x.room }));
    }
    if (newest > (this.readSent.get(roomId) ?? 0) && !this.readTimers.has(roomId) && typeof window !== 'undefined') {
      this.readTimers.set(roomId, window.setTimeout(() => void this.sendRead(roomId), MARK_READ_DEBOUNCE_MS));
    }
  }

  private async sendRead(roomId: string): Promise<void> {
    this.readTimers.delete(roomId);
    const e = this.state.rooms[roomId];
    if (!e || this.disposed) return;
    const seq = newestShown(e.log);
    if (seq <= (this.readSent.get(roomId) ?? 0)) return;
    this.readSent.set(roomId, seq);
    try {
      const state = await api.markRead(roomId, seq);
      this.setRoom(roomId, (x) => applyServerRead(x, state, this.state.me.id, this.isOnScreen(roomId)));
    } catch {
      // Not sent (offline): the next time the room is on screen tries again.
      if (this.readSent.get(roomId) === seq) this.readSent.delete(roomId);
    }
  }

  /** Where "New messages" goes when the room comes on screen: after my read position, if anything is unread. */
  private withDivider(e: RoomEntry): RoomEntry {
    return e.unread > 0 ? { ...e, dividerAfter: e.room.lastReadSeq, mentionsAtOpen: e.alerts } : { ...e, dividerAfter: null, mentionsAtOpen: 0 };
  }

  /** A room from the server (list, room.changed, GET): its name, role, settings and counts. */
  private withServerRoom(e: RoomEntry, room: Room): RoomEntry {
    const merged = applyServerRead({ ...e, room: { ...room, lastReadSeq: e.room.lastReadSeq } }, readStateOf(room), this.state.me.id, this.isOnScreen(room.id));
    return merged;
  }

  /** Changes my notification settings for the room (notify level, mute). */
  async setRoomSettings(roomId: string, settings: { notify?: Room['notify']; muted?: boolean }): Promise<void> {
    const { room } = await api.roomSettings(roomId, settings);
    this.setRoom(roomId, (e) => this.withServerRoom(e, room));
  }

  /** Hides a webhook's failure notice in this room (until the server sends another). */
  dismissWebhookFailure(roomId: string, webhookId: string): void {
    const list = this.state.webhookFailures[roomId];
    if (!list?.some((f) => f.webhookId === webhookId)) return;
    this.set({ webhookFailures: { ...this.state.webhookFailures, [roomId]: list.filter((f) => f.webhookId !== webhookId) } });
  }

  private onWebhookFailing(frame: WebhookFailingFrame): void {
    // Sent to administrators only; a role changed meanwhile is checked again here.
    if (this.state.rooms[frame.roomId]?.room.role !== 'administrator') return;
    const others = (this.state.webhookFailures[frame.roomId] ?? []).filter((f) => f.webhookId !== frame.webhookId);
    this.set({ webhookFailures: { ...this.state.webhookFailures, [frame.roomId]: [frame, ...others] } });
  }

  // ---- the stream ----
  private onFrame(frame: ServerFrame): void {
    switch (frame.type) {
      case 'ready':
        void this.onReady(frame.rooms);
        return;
      case 'message.created':
        this.apply(frame.message.roomId, [createdEvent(frame.message)]);
        return;
      case 'message.updated':
        // The frame's seq is the change's; message.seq stays the message's own place.
        this.apply(frame.message.roomId, [{ seq: frame.seq, kind: 'updated', message: frame.message, newAlert: frame.newAlert }]);
        return;
      case 'resumed': {
        const e = this.state.rooms[frame.roomId];
        if (!e) return;
        this.sync.resumed(frame.roomId, frame.lastSeq);
        return;
      }
      case 'presence.changed':
        this.setPresence(frame.roomId, frame.userId, frame.present);
        return;
      case 'roster.changed':
        if (this.state.rosters[frame.roomId] || this.state.activeRoomId === frame.roomId) void this.refreshRoster(frame.roomId);
        void this.refreshRoom(frame.roomId);
        return;
      case 'room.changed': {
        const room = frame.room;
        this.setRoom(room.id, (e) => this.withServerRoom(e, room));
        return;
      }
      case 'room.read': {
        const { type: _type, ...state } = frame;
        this.setRoom(frame.roomId, (e) => applyServerRead(e, state, this.state.me.id, this.isOnScreen(frame.roomId)));
        if (this.isOnScreen(frame.roomId)) this.markSeen(frame.roomId);
        return;
      }
      case 'webhook.failing':
        this.onWebhookFailing(frame);
        return;
      case 'room.added': {
        const room = frame.room;
        if (!this.state.rooms[room.id]) this.set({ rooms: { ...this.state.rooms, [room.id]: this.entryFor(room, room.lastSeq ?? 0) } });
        return;
      }
      case 'room.removed': {
        const { [frame.roomId]: _gone, ...rest } = this.state.rooms;
        if (!_gone) return;
        this.sync.roomRemoved(frame.roomId);
        const { [frame.roomId]: _notices, ...failures } = this.state.webhookFailures;
        this.set({ rooms: rest, activeRoomId: this.state.activeRoomId === frame.roomId ? null : this.state.activeRoomId, webhookFailures: failures });
        return;
      }
      default:
        return;
    }
  }

  private async onReady(serverRooms: Record<string, number>): Promise<void> {
    this.sync.ready();
    const known = this.state.rooms;
    const added = Object.keys(serverRooms).filter((id) => !known[id]);
    const removed = Object.keys(known).some((id) => !(id in serverRooms));
    // After a reconnect the room list is read again too: rooms may have been read on another device meanwhile.
    const reconnect = this.connectedBefore;
    this.connectedBefore = true;
    if (added.length > 0 || removed || reconnect) {
      // Rooms not named in our resume are delivered live after the seq `ready` gives for them.
      try {
        await this.refreshRooms(serverRooms);
      } catch {
        /* the rooms we resumed are still covered */
      }
    }
    const active = this.state.activeRoomId;
    if (active) void this.refreshRoster(active);
  }

  /**
   * Applies stream events (message.created, message.updated) in seq order, counts new messages into
   * the badges (changes never count), notifies, and asks for a replay if some are missing.
   */
  private apply(roomId: string, events: readonly LogEvent[]): void {
    const entry = this.state.rooms[roomId];
    if (!entry) return;
    const { log, applied, accepted } = receiveEvents(entry.log, events);
    if (log !== entry.log) {
      this.setRoom(roomId, (e) => this.count({ ...e, log }, accepted));
      // An edit that now mentions me (or @All) alerts like a new message: the same notification path.
      const me = this.state.me.id;
      for (const ev of applied) {
        const m = ev.message;
        if (ev.kind === 'updated' && ev.newAlert && !(m.sender.type === 'user' && m.sender.id === me)) {
          const room = this.state.rooms[roomId]?.room;
          if (room) this.options.onMessage?.(room, m, true);
        }
      }
      if (this.isOnScreen(roomId)) this.markSeen(roomId);
    }
    if (log.pending.length > 0) this.sync.expect(roomId, log.pending[log.pending.length - 1]!.seq);
  }

  /** Counts newly accepted messages into the badges (read-tracking.ts) and tells about the new ones from others. */
  private count(e: RoomEntry, accepted: readonly Message[]): RoomEntry {
    const me = this.state.me.id;
    const { entry, fresh } = countAccepted(e, accepted, me, this.isOnScreen(e.room.id));
    for (const m of fresh) this.options.onMessage?.(entry.room, m, alertsMe(m, me));
    return entry;
  }

  /** Copies fetched over HTTP (answers to actions); `atLeast` is the watermark when the request left. */
  private merge(roomId: string, messages: readonly Message[], atLeast: number): void {
    this.setRoom(roomId, (e) => {
      const log = mergeFetched(e.log, messages, atLeast);
      return log === e.log ? e : { ...e, log };
    });
  }

  // ---- history ----
  async loadLatest(roomId: string): Promise<void> {
    this.setRoom(roomId, (e) => ({ ...e, loadingLatest: true, loadError: null }));
    try {
      const atLeast = this.state.rooms[roomId]?.log.watermark ?? 0;
      const { messages } = await api.messages(roomId, { limit: HISTORY_PAGE });
      const entry = this.state.rooms[roomId];
      if (!entry) return;
      // The watermark does not move: the events after it (these messages included) come through the stream, and count then.
      this.setRoom(roomId, (e) => ({ ...e, log: loadLatest(e.log, messages, atLeast, HISTORY_PAGE), loadingLatest: false }));
      if (this.isOnScreen(roomId)) this.markSeen(roomId);
      const newest = messages.reduce((n, m) => Math.max(n, m.seq), 0);
      this.sync.expect(roomId, newest);
    } catch (e) {
      this.setRoom(roomId, (x) => ({ ...x, loadingLatest: false, loadError: e instanceof Error ? e.message : 'Could not load messages.' }));
    }
  }

  async loadOlder(roomId: string): Promise<void> {
    const entry = this.state.rooms[roomId];
    if (!entry || entry.loadingOlder || !entry.log.loaded) return;
    const before = olderCursor(entry.log);
    if (before === null) return;
    this.setRoom(roomId, (e) => ({ ...e, loadingOlder: true }));
    try {
      const atLeast = entry.log.watermark;
      const { messages } = await api.messages(roomId, { before, limit: HISTORY_PAGE });
      this.setRoom(roomId, (e) => ({ ...e, log: loadOlder(e.log, messages, before, atLeast), loadingOlder: false }));
    } catch (e) {
      this.setRoom(roomId, (x) => ({ ...x, loadingOlder: false, loadError: e instanceof Error ? e.message : 'Could not load older messages.' }));
    }
  }

  // ---- actions ----
  async sendMessage(roomId: string, content: string): Promise<void> {
    let message: Message;
    try {
      ({ message } = await api.postMessage(roomId, content));
    } catch (e) {
      // The server cannot be reached: the stream may not have noticed yet (a half-open socket);
      // reconnect it, so the screen says so and learns when the server is back.
      if (e instanceof ApiError && e.status === 0) this.sync.restartIfConnected();
      throw e;
    }
    // Shown at once; counted (it marks the room read) when its event is applied, which the stream
    // brings after the ones before it.
    this.merge(roomId, [message], message.seq);
    this.apply(roomId, [createdEvent(message)]);
    this.setRoom(roomId, (e) => ({ ...e, lastSentId: message.id }));
  }

  /** Replaces my message's content (PATCH); the answer shows at once, the stream tells everyone. */
  async editMessage(roomId: string, messageId: string, content: string): Promise<void> {
    const atLeast = this.state.rooms[roomId]?.log.watermark ?? 0;
    const { message } = await api.editMessage(roomId, messageId, content);
    this.merge(roomId, [message], atLeast);
  }

  /** Deletes a message (mine, or any as a room administrator): a tombstone at once, the stream's copy follows. */
  async deleteMessage(roomId: string, messageId: string): Promise<void> {
    const atLeast = this.state.rooms[roomId]?.log.watermark ?? 0;
    await api.deleteMessage(roomId, messageId);
    const entry = this.state.rooms[roomId];
    const m = entry ? findMessage(entry.log, messageId) : undefined;
    if (!m || m.deletedAt != null) return;
    const mine = m.sender.type === 'user' && m.sender.id === this.state.me.id;
    this.merge(roomId, [{ ...m, content: '', html: '', reactions: [], deletedAt: Date.now(), deletedBy: mine ? 'author' : 'administrator' }], atLeast);
  }

  /** Adds or removes my reaction with this emoji. */
  async react(roomId: string, messageId: string, emoji: string, on: boolean): Promise<void> {
    const atLeast = this.state.rooms[roomId]?.log.watermark ?? 0;
    const { message } = await api.react(roomId, messageId, emoji, on);
    this.merge(roomId, [message], atLeast);
  }

  async createRoom(name: string): Promise<Room> {
    const { room } = await api.createRoom(name);
    if (!this.state.rooms[room.id]) {
      const entry = this.entryFor(room, room.lastSeq);
      this.set({ rooms: { ...this.state.rooms, [room.id]: { ...entry, log: { ...entry.log, loaded: true, hasOlder: false } } } });
    }
    return room;
  }

  async refreshRoster(roomId: string): Promise<void> {
    try {
      const roster = await api.roster(roomId);
      if (!this.state.rooms[roomId]) return;
      this.set({ rosters: { ...this.state.rosters, [roomId]: roster } });
    } catch {
      /* keep the last roster */
    }
  }

  private async refreshRoom(roomId: string): Promise<void> {
    try {
      const { room } = await api.room(roomId);
      this.setRoom(roomId, (e) => this.withServerRoom(e, room));
    } catch (e) {
      if (e instanceof ApiError && e.status === 404) {
        const { [roomId]: _gone, ...rest } = this.state.rooms;
        this.set({ rooms: rest, activeRoomId: this.state.activeRoomId === roomId ? null : this.state.activeRoomId });
      }
    }
  }

  private setPresence(roomId: string, userId: string, present: boolean): void {
    const roster = this.state.rosters[roomId];
    if (!roster) return;
    if (!roster.members.some((m) => m.userId === userId)) {
      void this.refreshRoster(roomId);
      return;
    }
    this.set({
      rosters: {
        ...this.state.rosters,
        [roomId]: { ...roster, members: roster.members.map((m) => (m.userId === userId ? { ...m, present } : m)) },
      },
    });
  }
}
