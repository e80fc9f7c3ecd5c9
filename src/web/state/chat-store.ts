/**
 * The signed-in client's state: rooms with their message logs and badges, rosters, the room on
 * screen, and the stream connection. Screens read immutable snapshots (useSyncExternalStore) and
 * call the methods; the stream's ordering rules live in room-log.ts.
 */
import type { Message, Room, Roster, User } from '../../shared/api-types';
import { LIMITS } from '../../shared/limits';
import { ApiError, api } from '../lib/api';
import { alertsMe } from '../lib/format';
import { type RoomLog, emptyLog, loadLatest, loadOlder, olderCursor, receiveMany } from '../lib/room-log';
import { type ServerFrame, StreamConnection, type StreamStatus, streamUrl } from '../lib/stream';

export interface RoomEntry {
  room: Room;
  log: RoomLog;
  /** Messages from others that arrived while this room was not on screen. */
  unread: number;
  /** Of those, the ones that alert me (SPEC 4). */
  alerts: number;
  loadingLatest: boolean;
  loadingOlder: boolean;
  loadError: string | null;
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
}

export interface ChatStoreOptions {
  me: User;
  /** A message that alerts me arrived while I was not looking at it. */
  onAlert?: (room: Room, message: Message) => void;
  /** The session ended (401 from the server). */
  onSignedOut?: () => void;
}

const GAP_PAGE = LIMITS.messagePageMax;
const HISTORY_PAGE = LIMITS.messagePageDefault;

export function sortRooms(rooms: readonly RoomEntry[]): RoomEntry[] {
  return [...rooms].sort((a, b) => a.room.name.localeCompare(b.room.name, undefined, { sensitivity: 'base' }) || a.room.id.localeCompare(b.room.id));
}

export class ChatStore {
  private state: ChatState;
  private listeners = new Set<() => void>();
  private stream: StreamConnection | null = null;
  /** The room this client last told the server it has open (presence). */
  private openRoomId: string | null = null;
  private fillingGap = new Set<string>();
  private gapAgain = new Set<string>();
  private disposed = false;
  private generation = 0;

  constructor(private readonly options: ChatStoreOptions) {
    this.state = {
      me: options.me,
      rooms: {},
      activeRoomId: null,
      rosters: {},
      connection: 'connecting',
      visible: typeof document === 'undefined' ? true : document.visibilityState !== 'hidden',
    };
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
    this.stream = new StreamConnection(streamUrl(window.location), {
      opened: () => this.sendResume(),
      frame: (f) => this.onFrame(f),
      status: (s) => {
        if (s !== 'live') this.openRoomId = null;
        this.set({ connection: s });
      },
      repeatedFailure: () => {
        // The socket cannot even open: find out whether the session ended.
        api.me().catch((e) => {
          if (e instanceof ApiError && e.status === 401) this.options.onSignedOut?.();
        });
      },
    });
    this.stream.start();
  }

  dispose(): void {
    this.disposed = true;
    this.generation++;
    this.stream?.stop();
    this.stream = null;
    this.openRoomId = null;
  }

  /** Reconnect at once if the connection is down (network back, tab visible again). */
  nudge(): void {
    this.stream?.nudge();
  }

  private entryFor(room: Room, watermark = room.lastSeq): RoomEntry {
    return { room, log: emptyLog(watermark), unread: 0, alerts: 0, loadingLatest: false, loadingOlder: false, loadError: null };
  }

  /** Merges the server's room list: new rooms get entries, gone ones are dropped, names and roles refresh. */
  async refreshRooms(watermarks?: Record<string, number>): Promise<void> {
    const { rooms } = await api.rooms();
    const next: Record<string, RoomEntry> = {};
    for (const room of rooms) {
      const existing = this.state.rooms[room.id];
      next[room.id] = existing ? { ...existing, room: { ...room } } : this.entryFor(room, watermarks?.[room.id] ?? room.lastSeq);
    }
    const active = this.state.activeRoomId && next[this.state.activeRoomId] ? this.state.activeRoomId : null;
    this.set({ rooms: next, activeRoomId: active });
  }

  // ---- what is on screen (presence: SPEC 1, 5) ----
  selectRoom(roomId: string | null): void {
    if (roomId !== null && !this.state.rooms[roomId]) return;
    this.set({ activeRoomId: roomId });
    this.syncOpenRoom();
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
    this.syncOpenRoom();
    if (visible && this.state.activeRoomId) this.markSeen(this.state.activeRoomId);
    if (visible) this.nudge();
  }

  private isOnScreen(roomId: string): boolean {
    return this.state.visible && this.state.activeRoomId === roomId;
  }

  /** Tells the server which room is open here: the active one while the page is visible. */
  private syncOpenRoom(): void {
    const want = this.state.visible ? this.state.activeRoomId : null;
    if (want === this.openRoomId || !this.stream?.connected) return;
    if (this.openRoomId) this.stream.send({ type: 'close', roomId: this.openRoomId });
    if (want) this.stream.send({ type: 'open', roomId: want });
    this.openRoomId = want;
  }

  markSeen(roomId: string): void {
    const e = this.state.rooms[roomId];
    if (e && (e.unread > 0 || e.alerts > 0)) this.setRoom(roomId, (x) => ({ ...x, unread: 0, alerts: 0 }));
  }

  // ---- the stream ----
  private onFrame(frame: ServerFrame): void {
    switch (frame.type) {
      case 'ready':
        void this.onReady(frame.rooms);
        return;
      case 'message.created':
        this.apply(frame.message.roomId, [frame.message], 'stream');
        return;
      case 'resumed': {
        const e = this.state.rooms[frame.roomId];
        if (e && frame.lastSeq > e.log.watermark) void this.fillGap(frame.roomId);
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
        this.setRoom(room.id, (e) => ({ ...e, room: { ...room } }));
        return;
      }
      case 'room.added': {
        const room = frame.room;
        if (!this.state.rooms[room.id]) this.set({ rooms: { ...this.state.rooms, [room.id]: this.entryFor(room, room.lastSeq ?? 0) } });
        return;
      }
      case 'room.removed': {
        const { [frame.roomId]: _gone, ...rest } = this.state.rooms;
        if (!_gone) return;
        if (this.openRoomId === frame.roomId) this.openRoomId = null;
        this.set({ rooms: rest, activeRoomId: this.state.activeRoomId === frame.roomId ? null : this.state.activeRoomId });
        return;
      }
      default:
        return;
    }
  }

  /** First frame on every (re)connect: the last seq held per room, so the server replays what was missed. */
  private sendResume(): void {
    const rooms: Record<string, number> = {};
    for (const [id, e] of Object.entries(this.state.rooms)) rooms[id] = e.log.watermark;
    this.stream?.send({ type: 'resume', rooms });
  }

  private async onReady(serverRooms: Record<string, number>): Promise<void> {
    this.openRoomId = null;
    this.syncOpenRoom();
    const known = this.state.rooms;
    const added = Object.keys(serverRooms).filter((id) => !known[id]);
    const removed = Object.keys(known).some((id) => !(id in serverRooms));
    if (added.length > 0 || removed) {
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

  /** Applies messages from the stream or a gap fill, counts badges, and fills any gap found. */
  private apply(roomId: string, messages: readonly Message[], source: 'stream' | 'fetch'): void {
    const entry = this.state.rooms[roomId];
    if (!entry) return;
    const { log, accepted, gapAfter } = receiveMany(entry.log, messages);
    if (log !== entry.log) {
      const counted = this.count(entry.room, accepted);
      this.setRoom(roomId, (e) => ({ ...e, log, unread: e.unread + counted.unread, alerts: e.alerts + counted.alerts }));
    }
    if (gapAfter !== null) {
      if (source === 'stream') void this.fillGap(roomId);
      else this.gapAgain.add(roomId);
    }
  }

  private count(room: Room, accepted: readonly Message[]): { unread: number; alerts: number } {
    let unread = 0;
    let alerts = 0;
    const me = this.state.me.id;
    const onScreen = this.isOnScreen(room.id);
    for (const m of accepted) {
      const mine = m.sender.type === 'user' && m.sender.id === me;
      if (mine) continue;
      const alerting = alertsMe(m, me);
      if (alerting) this.options.onAlert?.(room, m);
      if (onScreen) continue;
      unread++;
      if (alerting) alerts++;
    }
    return { unread, alerts };
  }

  /** GET …/messages?after=watermark until caught up (SPEC 5: no gap across reconnects). */
  private async fillGap(roomId: string): Promise<void> {
    if (this.fillingGap.has(roomId)) {
      this.gapAgain.add(roomId);
      return;
    }
    this.fillingGap.add(roomId);
    try {
      for (let round = 0; round < 50; round++) {
        this.gapAgain.delete(roomId);
        const entry = this.state.rooms[roomId];
        if (!entry) return;
        const after = entry.log.watermark;
        const { messages } = await api.messages(roomId, { after, limit: GAP_PAGE });
        this.apply(roomId, messages, 'fetch');
        const now = this.state.rooms[roomId];
        if (!now) return;
        const progressed = now.log.watermark > after;
        if (messages.length === GAP_PAGE && progressed) continue; // more pages to read
        if (now.log.pending.length === 0 && !this.gapAgain.has(roomId)) return;
        // The server had nothing newer yet (a message still in flight): look again shortly.
        if (!progressed) await new Promise((r) => window.setTimeout(r, 500));
      }
    } catch {
      // Offline or signed out: the next resume fills the gap.
    } finally {
      this.fillingGap.delete(roomId);
    }
  }

  // ---- history ----
  async loadLatest(roomId: string): Promise<void> {
    this.setRoom(roomId, (e) => ({ ...e, loadingLatest: true, loadError: null }));
    try {
      const { messages } = await api.messages(roomId, { limit: HISTORY_PAGE });
      const entry = this.state.rooms[roomId];
      if (!entry) return;
      const { log, accepted, gapAfter } = loadLatest(entry.log, messages);
      const counted = this.count(entry.room, accepted.filter((m) => m.seq > entry.log.watermark && !this.isOnScreen(roomId)));
      this.setRoom(roomId, (e) => ({ ...e, log, loadingLatest: false, unread: e.unread + counted.unread, alerts: e.alerts + counted.alerts }));
      if (gapAfter !== null) void this.fillGap(roomId);
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
      const { messages } = await api.messages(roomId, { before, limit: HISTORY_PAGE });
      this.setRoom(roomId, (e) => ({ ...e, log: loadOlder(e.log, messages), loadingOlder: false }));
    } catch (e) {
      this.setRoom(roomId, (x) => ({ ...x, loadingOlder: false, loadError: e instanceof Error ? e.message : 'Could not load older messages.' }));
    }
  }

  // ---- actions ----
  async sendMessage(roomId: string, content: string): Promise<void> {
    const { message } = await api.postMessage(roomId, content);
    this.apply(roomId, [message], 'stream');
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
      this.setRoom(roomId, (e) => ({ ...e, room: { ...room } }));
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
