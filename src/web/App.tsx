/**
 * The app shell: first-run setup or sign-in, then the chat (sidebar + room). On phones (≤ 480 px)
 * the room list and the room are separate screens; the URL (/rooms/<id>) follows the open room so
 * the browser's back button returns to the list.
 */
import { useCallback, useEffect, useMemo, useRef, useState, useSyncExternalStore } from 'react';
import type { Message, Room, User } from '../shared/api-types';
import { api, setUnauthorizedHandler } from './lib/api';
import { previewText, senderLabel } from './lib/format';
import { type NotificationPermissionState, notificationPermission, requestNotificationPermission, shouldNotify } from './lib/notifications';
import { disablePush, enablePush, showAppNotification } from './lib/service-worker';
import { ChatStore } from './state/chat-store';
import { SetupScreen, SignInScreen } from './components/AuthScreens';
import { AuditLogDialog } from './components/AuditLogDialog';
import { AddMembersDialog, NewRoomDialog, NewUserDialog } from './components/Dialogs';
import { Logo } from './components/Logo';
import { ManageWebhooksDialog } from './components/ManageWebhooksDialog';
import type { MessageActions } from './components/MessageList';
import { RoomSwitcher } from './components/RoomSwitcher';
import { RoomView } from './components/RoomView';
import { SearchBox, SearchPanel } from './components/SearchPanel';
import { Sidebar } from './components/Sidebar';

type Boot = { phase: 'loading' } | { phase: 'setup' } | { phase: 'signin'; notice?: string } | { phase: 'app'; user: User } | { phase: 'error'; message: string };

export function App() {
  const [boot, setBoot] = useState<Boot>({ phase: 'loading' });

  const start = useCallback(async () => {
    try {
      const { needsSetup } = await api.needsSetup();
      if (needsSetup) return setBoot({ phase: 'setup' });
      try {
        const { user } = await api.me();
        setBoot({ phase: 'app', user });
      } catch {
        setBoot({ phase: 'signin' });
      }
    } catch (e) {
      setBoot({ phase: 'error', message: e instanceof Error ? e.message : 'Cannot reach the server.' });
    }
  }, []);

  useEffect(() => {
    void start();
    setUnauthorizedHandler(() => setBoot({ phase: 'signin', notice: 'Your session ended. Sign in again.' }));
    return () => setUnauthorizedHandler(null);
  }, [start]);

  switch (boot.phase) {
    case 'loading':
      return (
        <div className="splash" role="status">
          <Logo size={48} />
          <span className="visually-hidden">Loading Carillon…</span>
        </div>
      );
    case 'error':
      return (
        <main className="auth">
          <div className="auth-card">
            <h1>Cannot reach Carillon</h1>
            <p className="form-error" role="alert">
              {boot.message}
            </p>
            <button type="button" className="button button-primary" onClick={() => void start()}>
              Try again
            </button>
          </div>
        </main>
      );
    case 'setup':
      return <SetupScreen onDone={(user) => setBoot({ phase: 'app', user })} />;
    case 'signin':
      return <SignInScreen notice={boot.notice ?? null} onDone={(user) => setBoot({ phase: 'app', user })} />;
    case 'app':
      return (
        <Chat
          key={boot.user.id}
          me={boot.user}
          onSignedOut={(notice) => setBoot(notice ? { phase: 'signin', notice } : { phase: 'signin' })}
        />
      );
  }
}

function useMediaQuery(query: string): boolean {
  const subscribe = useCallback(
    (cb: () => void) => {
      const mq = window.matchMedia(query);
      mq.addEventListener('change', cb);
      return () => mq.removeEventListener('change', cb);
    },
    [query],
  );
  return useSyncExternalStore(subscribe, () => window.matchMedia(query).matches);
}

/** `/rooms/{id}?seq=N`: the message a notification points at (PushPayload.url). */
function focusFromUrl(): { roomId: string; seq: number } | null {
  const roomId = roomIdFromPath();
  const seq = Number(new URLSearchParams(window.location.search).get('seq'));
  return roomId && Number.isSafeInteger(seq) && seq > 0 ? { roomId, seq } : null;
}

function roomIdFromPath(): string | null {
  const m = /^\/rooms\/([0-9a-f-]{36})\/?$/i.exec(window.location.pathname);
  return m ? m[1]!.toLowerCase() : null;
}

/** localStorage, which throws in some private modes and sandboxed frames: remembering the last room is optional. */
const safeStorage = {
  get(key: string): string | null {
    try {
      return window.localStorage.getItem(key);
    } catch {
      return null;
    }
  },
  set(key: string, value: string): void {
    try {
      window.localStorage.setItem(key, value);
    } catch {
      /* not remembered */
    }
  },
};

type OpenDialog = 'newRoom' | 'newUser' | 'webhooks' | 'addMembers' | 'audit' | null;

function Chat({ me, onSignedOut }: { me: User; onSignedOut(notice?: string): void }) {
  const messageHandler = useRef<(room: Room, m: Message, alerting: boolean) => void>(() => {});
  const store = useMemo(
    () =>
      new ChatStore({
        me,
        onMessage: (room, m, alerting) => messageHandler.current(room, m, alerting),
        onSignedOut: () => onSignedOut('Your session ended. Sign in again.'),
      }),
    // eslint-disable-next-line react-hooks/exhaustive-deps
    [me.id],
  );
  const state = useSyncExternalStore(store.subscribe, store.getState);
  const isPhone = useMediaQuery('(max-width: 480px)');
  const [dialog, setDialog] = useState<OpenDialog>(null);
  /** The webhook Manage webhooks points at when opened from a failure notice. */
  const [webhookFocus, setWebhookFocus] = useState<string | null>(null);
  const [rosterOpen, setRosterOpen] = useState(false);
  const [notifications, setNotifications] = useState<NotificationPermissionState>(notificationPermission);
  const [started, setStarted] = useState(false);
  const [focus, setFocus] = useState(focusFromUrl);
  /** The search box's text, and the query whose results are open (null: closed). */
  const [searchText, setSearchText] = useState('');
  const [searchQuery, setSearchQuery] = useState<string | null>(null);
  const [switcherOpen, setSwitcherOpen] = useState(false);
  const focusDone = useCallback(() => {
    setFocus(null);
    // The link has done its job: a reload should not jump back to that message.
    if (window.location.search) window.history.replaceState(window.history.state, '', window.location.pathname);
  }, []);

  useEffect(() => {
    let alive = true;
    store.start().then(
      () => alive && setStarted(true),
      () => alive && setStarted(true),
    );
    const onVisibility = () => store.setVisible(document.visibilityState !== 'hidden');
    const onOnline = () => store.nudge();
    document.addEventListener('visibilitychange', onVisibility);
    window.addEventListener('online', onOnline);
    return () => {
      alive = false;
      document.removeEventListener('visibilitychange', onVisibility);
      window.removeEventListener('online', onOnline);
      store.dispose();
    };
  }, [store]);

  const select = useCallback(
    (roomId: string | null, how: 'push' | 'replace' | 'none' = 'push') => {
      store.selectRoom(roomId);
      setRosterOpen(false);
      const path = roomId ? `/rooms/${roomId}` : '/';
      if (how !== 'none' && window.location.pathname !== path) {
        if (how === 'push') window.history.pushState({ roomId }, '', path);
        else window.history.replaceState({ roomId }, '', path);
      }
      if (roomId) safeStorage.set('carillon.lastRoom', roomId);
    },
    [store],
  );

  // The first room to show: the one in the URL, else (not on phones) the last one used, else the first.
  const chose = useRef(false);
  useEffect(() => {
    if (!started || chose.current) return;
    chose.current = true;
    const fromUrl = roomIdFromPath();
    if (fromUrl && state.rooms[fromUrl]) return select(fromUrl, 'none');
    if (isPhone) return select(null, 'replace');
    const last = safeStorage.get('carillon.lastRoom');
    const first = Object.values(state.rooms).sort((a, b) => a.room.name.localeCompare(b.room.name))[0]?.room.id ?? null;
    select(last && state.rooms[last] ? last : first, 'replace');
  }, [started, state.rooms, isPhone, select]);

  // On desktop something is always open once rooms exist (a room can disappear or be created).
  useEffect(() => {
    if (!started || isPhone || state.activeRoomId) return;
    const first = Object.values(state.rooms).sort((a, b) => a.room.name.localeCompare(b.room.name))[0]?.room.id;
    if (first) select(first, 'replace');
  }, [started, isPhone, state.activeRoomId, state.rooms, select]);

  /** Opens a room at a message (a search result): /rooms/{id}?seq=N, as a notification's link does. */
  const openAt = useCallback(
    (roomId: string, seq: number) => {
      setSearchQuery(null);
      store.selectRoom(roomId);
      setRosterOpen(false);
      window.history.pushState({ roomId }, '', `/rooms/${roomId}?seq=${seq}`);
      safeStorage.set('carillon.lastRoom', roomId);
      setFocus({ roomId, seq });
    },
    [store],
  );

  // Ctrl+K / Cmd+K: the room switcher, from anywhere (again: closes it).
  useEffect(() => {
    const onKey = (e: KeyboardEvent) => {
      if ((e.ctrlKey || e.metaKey) && !e.altKey && !e.shiftKey && e.key.toLowerCase() === 'k') {
        e.preventDefault();
        setSwitcherOpen((o) => !o);
      }
    };
    window.addEventListener('keydown', onKey);
    return () => window.removeEventListener('keydown', onKey);
  }, []);

  useEffect(() => {
    const onPop = () => {
      store.selectRoom(roomIdFromPath());
      setFocus(focusFromUrl());
    };
    window.addEventListener('popstate', onPop);
    return () => window.removeEventListener('popstate', onPop);
  }, [store]);

  // Desktop notifications, as the room's setting says (all / mentions and alerts / none, or muted),
  // when allowed and the message is not already in front of the user.
  messageHandler.current = (room, m, alerting) => {
    if (notifications !== 'granted' || !shouldNotify(room, alerting)) return;
    if (document.visibilityState === 'visible' && store.getState().activeRoomId === room.id) return;
    // Through the service worker when there is one (phone browsers allow no other kind).
    void showAppNotification(
      `${senderLabel(m.sender)} in #${room.name}`,
      { body: previewText(m.content), tag: `room:${room.id}`, url: `/rooms/${room.id}?seq=${m.seq}` },
      () => select(room.id),
    );
  };

  // Notifications allowed: this device also gets Web Push, for alerts while no tab is open.
  useEffect(() => {
    if (notifications === 'granted') void enablePush(api);
  }, [notifications]);

  const rooms = Object.values(state.rooms);
  // Muted rooms' unread messages are not emphasised; their mentions still count.
  const unreadTotal = rooms.reduce((n, r) => n + (r.room.muted ? 0 : r.unread), 0);
  const alertTotal = rooms.reduce((n, r) => n + r.alerts, 0);
  const active = state.activeRoomId ? state.rooms[state.activeRoomId] : undefined;
  const activeId = active?.room.id;
  const actions = useMemo<MessageActions | null>(
    () =>
      activeId
        ? {
            edit: (messageId, content) => store.editMessage(activeId, messageId, content),
            remove: (messageId) => store.deleteMessage(activeId, messageId),
            react: (messageId, emoji, on) => store.react(activeId, messageId, emoji, on),
            edits: async (messageId) => (await api.messageEdits(activeId, messageId)).edits,
          }
        : null,
    [store, activeId],
  );
  const searchOpen = searchQuery !== null;

  useEffect(() => {
    const prefix = alertTotal > 0 ? `(@${alertTotal}) ` : unreadTotal > 0 ? `(${unreadTotal}) ` : '';
    document.title = `${prefix}${active ? `#${active.room.name} · ` : ''}Carillon`;
  }, [unreadTotal, alertTotal, active]);

  const signOut = async () => {
    try {
      // Before the session ends: this device must not keep receiving this user's alerts.
      await disablePush(api);
      await api.logout();
    } catch {
      /* signed out anyway */
    }
    onSignedOut();
  };

  return (
    <div className={`app ${active ? 'app-view-room' : 'app-view-list'}${searchOpen ? ' app-search-open' : ''}`}>
      <Sidebar
        me={me}
        rooms={rooms}
        activeRoomId={state.activeRoomId}
        connection={state.connection}
        notifications={notifications}
        onSelect={(id) => {
          setSearchQuery(null);
          select(id);
        }}
        onNewRoom={() => setDialog('newRoom')}
        onNewUser={() => setDialog('newUser')}
        onEnableNotifications={() => void requestNotificationPermission().then(setNotifications)}
        onSignOut={() => void signOut()}
        search={<SearchBox value={searchText} onChange={setSearchText} onSearch={setSearchQuery} onClose={() => setSearchQuery(null)} open={searchOpen} />}
      />
      {active && actions ? (
        <RoomView
          entry={active}
          roster={state.rosters[active.room.id]}
          me={me}
          connection={state.connection}
          rosterOpen={rosterOpen}
          onToggleRoster={() => setRosterOpen((o) => !o)}
          onBack={() => {
            if (window.history.state?.roomId === active.room.id && window.history.length > 1 && isPhone) window.history.back();
            else select(null);
          }}
          onLoadOlder={() => void store.loadOlder(active.room.id)}
          focusSeq={focus && focus.roomId === active.room.id ? focus.seq : null}
          onFocused={focusDone}
          onSend={(content) => store.sendMessage(active.room.id, content)}
          onManageWebhooks={(webhookId) => {
            setWebhookFocus(webhookId ?? null);
            if (webhookId) store.dismissWebhookFailure(active.room.id, webhookId);
            setDialog('webhooks');
          }}
          onAuditLog={() => setDialog('audit')}
          webhookFailures={state.webhookFailures[active.room.id]}
          onDismissFailure={(webhookId) => store.dismissWebhookFailure(active.room.id, webhookId)}
          onAddMembers={() => setDialog('addMembers')}
          onSettings={(settings) => void store.setRoomSettings(active.room.id, settings).catch(() => {})}
          actions={actions}
          covered={searchOpen}
        />
      ) : (
        <main className="room room-empty" aria-label="No room open" inert={searchOpen || undefined}>
          <div className="empty-state">
            <Logo size={56} />
            <h1>{rooms.length === 0 ? 'No rooms yet' : 'Pick a room'}</h1>
            <p>{rooms.length === 0 ? 'Create a room with New room, then add members and webhooks from its Room settings.' : 'Choose a room on the left to read and post.'}</p>
          </div>
        </main>
      )}

      {searchQuery !== null ? (
        <SearchPanel
          key={searchQuery}
          query={searchQuery}
          rooms={rooms}
          rosters={state.rosters}
          needRoster={(roomId) => void store.refreshRoster(roomId)}
          onOpen={openAt}
          onClose={() => {
            setSearchQuery(null);
            // Back to the box the search came from (on a phone the room list shows it again).
            window.setTimeout(() => document.querySelector<HTMLInputElement>('input[aria-label="Search messages"]')?.focus(), 0);
          }}
        />
      ) : null}
      {switcherOpen ? (
        <RoomSwitcher
          rooms={rooms}
          activeRoomId={state.activeRoomId}
          onClose={() => setSwitcherOpen(false)}
          onOpen={(roomId) => {
            setSwitcherOpen(false);
            setSearchQuery(null);
            select(roomId);
          }}
        />
      ) : null}
      {dialog === 'newRoom' ? (
        <NewRoomDialog
          onClose={() => setDialog(null)}
          onCreate={async (name) => {
            const room = await store.createRoom(name);
            select(room.id);
            return room;
          }}
        />
      ) : null}
      {dialog === 'newUser' ? <NewUserDialog onClose={() => setDialog(null)} /> : null}
      {dialog === 'webhooks' && active ? (
        <ManageWebhooksDialog
          roomId={active.room.id}
          roomName={active.room.name}
          onClose={() => setDialog(null)}
          onChanged={() => void store.refreshRoster(active.room.id)}
          highlightId={webhookFocus}
          onOpenMessage={(roomId, seq) => {
            setDialog(null);
            openAt(roomId, seq);
          }}
        />
      ) : null}
      {dialog === 'audit' && active ? <AuditLogDialog roomId={active.room.id} roomName={active.room.name} onClose={() => setDialog(null)} /> : null}
      {dialog === 'addMembers' && active ? (
        <AddMembersDialog
          roomId={active.room.id}
          roomName={active.room.name}
          onClose={() => setDialog(null)}
          onAdded={() => void store.refreshRoster(active.room.id)}
        />
      ) : null}
    </div>
  );
}
