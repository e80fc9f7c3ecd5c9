/**
 * The room's messages, oldest at the top. Sticks to the bottom while the reader is there (also while
 * images and other late layout make the list taller), keeps their place when older messages load
 * on scroll up (before=), offers a jump back down when new messages arrive while they read history,
 * and goes to the bottom when they send a message.
 */
import { Fragment, type PointerEvent, useCallback, useEffect, useLayoutEffect, useMemo, useRef, useState } from 'react';
import type { Message, MessageEdit } from '../../shared/api-types';
import { alertsMe, continuesGroup, dayLabel, sameDay } from '../lib/format';
import type { RoomEntry } from '../state/chat-store';
import { firstUnreadSeq } from '../state/read-tracking';
import { ArrowDownIcon } from './icons';
import { DeleteMessageDialog, EditHistoryDialog } from './MessageDialogs';
import { type MessageHandlers, MessageItem } from './MessageItem';
import { JumpToMention, NewMessagesDivider } from './UnreadMarkers';

/** What can be done to the room's messages (issue 14), bound to the room by the caller. */
export interface MessageActions {
  edit(messageId: string, content: string): Promise<void>;
  remove(messageId: string): Promise<void>;
  react(messageId: string, emoji: string, on: boolean): Promise<void>;
  edits(messageId: string): Promise<MessageEdit[]>;
}

interface MessageListProps {
  entry: RoomEntry;
  myUserId: string;
  onLoadOlder(): void;
  /** A message to show in the middle of the list, highlighted (a clicked notification); null for none. */
  focusSeq?: number | null;
  /** The focus is done (shown, or not to be found). */
  onFocused?(): void;
  /** The viewer is a room administrator (deletes any message, sees edit histories). */
  isAdmin?: boolean;
  /** Display names by user id, for reactions. */
  names?: ReadonlyMap<string, string>;
  actions?: MessageActions;
}

const NO_NAMES: ReadonlyMap<string, string> = new Map();
const NO_ACTIONS: MessageActions = {
  edit: async () => {},
  remove: async () => {},
  react: async () => {},
  edits: async () => [],
};

/** How many older pages reaching a focused message may load before it gives up. */
const MAX_FOCUS_PAGES = 40;

const NEAR_BOTTOM_PX = 80;
const LOAD_OLDER_PX = 400;

export function MessageList({ entry, myUserId, onLoadOlder, focusSeq = null, onFocused, isAdmin = false, names = NO_NAMES, actions = NO_ACTIONS }: MessageListProps) {
  const { log, loadingOlder, loadingLatest } = entry;
  const messages = log.messages;
  const scroller = useRef<HTMLDivElement>(null);
  const content = useRef<HTMLDivElement>(null);
  /**
   * Whether to keep the bottom in view. Only the reader moving up clears it: the list growing under
   * them (an image laid out just after a scroll to the bottom) is no reason to stop following.
   */
  const stick = useRef(true);
  /** scrollTop as last seen or set, to tell the reader scrolling up from the list growing. */
  const lastTop = useRef(0);
  const prev = useRef<{ roomId: string; first: number | undefined; last: number | undefined; scrollHeight: number; sentId: string | null }>({
    roomId: '',
    first: undefined,
    last: undefined,
    scrollHeight: 0,
    sentId: null,
  });
  const [showJump, setShowJump] = useState(false);

  // Which message shows its actions toolbar: the one under the mouse, else the one with focus, else
  // the one last tapped (phones). One at a time.
  const [hovered, setHovered] = useState<string | null>(null);
  const [focused, setFocused] = useState<string | null>(null);
  const [tapped, setTapped] = useState<string | null>(null);
  const activeId = hovered ?? focused ?? tapped;
  const [confirmDelete, setConfirmDelete] = useState<Message | null>(null);
  const [history, setHistory] = useState<Message | null>(null);
  const actionsRef = useRef(actions);
  actionsRef.current = actions;
  const handlers = useMemo<MessageHandlers>(
    () => ({
      edit: (m, content) => actionsRef.current.edit(m.id, content),
      react: (m, emoji, on) => actionsRef.current.react(m.id, emoji, on),
      requestDelete: (m) => setConfirmDelete(m),
      showHistory: (m) => setHistory(m),
      hover: (id, on) => setHovered((h) => (on ? id : h === id ? null : h)),
      focus: (id, on) => setFocused((f) => (on ? id : f === id ? null : f)),
      tap: (id) => setTapped(id),
    }),
    [],
  );
  // A tap outside any message hides the toolbar of the one tapped before.
  const onListPointerUp = (e: PointerEvent) => {
    if (e.pointerType !== 'mouse' && !(e.target as Element).closest('.message')) setTapped(null);
  };
  useEffect(() => {
    setHovered(null);
    setFocused(null);
    setTapped(null);
  }, [entry.room.id]);

  /** Scrolls to the very bottom now. */
  const pin = useCallback(() => {
    const el = scroller.current;
    if (!el) return;
    el.scrollTop = el.scrollHeight;
    lastTop.current = el.scrollTop;
  }, []);

  const scrollToBottom = useCallback(() => {
    stick.current = true;
    pin();
    setShowJump(false);
  }, [pin]);

  // After every render: keep the reader's place (prepend) or stick to the bottom (append).
  useLayoutEffect(() => {
    const el = scroller.current;
    if (!el) return;
    const first = messages[0]?.seq;
    const last = messages[messages.length - 1]?.seq;
    const p = prev.current;
    if (p.roomId !== entry.room.id) {
      scrollToBottom();
    } else if (entry.lastSentId !== p.sentId && entry.lastSentId !== null) {
      // The reader just sent a message: show it, wherever they were reading.
      scrollToBottom();
    } else if (first !== undefined && p.first !== undefined && first < p.first) {
      el.scrollTop += el.scrollHeight - p.scrollHeight;
      lastTop.current = el.scrollTop;
    } else if (last !== p.last) {
      if (stick.current) pin();
      else if (last !== undefined && p.last !== undefined && last > p.last) setShowJump(true);
    }
    prev.current = { roomId: entry.room.id, first, last, scrollHeight: el.scrollHeight, sentId: entry.lastSentId };
  });

  // Late layout (images in markdown messages load after the first layout, fonts, a taller composer,
  // a phone keyboard): whenever the list or its viewport changes size, keep the bottom in view.
  // ResizeObserver runs after layout and before paint, so the reader never sees the list short.
  useEffect(() => {
    const el = scroller.current;
    const list = content.current;
    if (!el || !list || typeof ResizeObserver === 'undefined') return;
    const observer = new ResizeObserver(() => {
      if (stick.current) pin();
      prev.current.scrollHeight = el.scrollHeight;
    });
    observer.observe(list);
    observer.observe(el);
    return () => observer.disconnect();
  }, [pin]);

  // Open at a given message (a notification's link, /rooms/{id}?seq=N): load older pages until it is
  // there, then show it in the middle, highlighted, and stop following the bottom.
  const focusPages = useRef(0);
  useEffect(() => {
    if (focusSeq === null || !log.loaded) return;
    const el = scroller.current;
    if (!el) return;
    const item = el.querySelector<HTMLElement>(`[data-seq="${focusSeq}"]`);
    if (item) {
      stick.current = false;
      item.scrollIntoView({ block: 'center' });
      lastTop.current = el.scrollTop;
      // Restart the highlight if this message was highlighted before (a second search hit).
      item.classList.remove('message-focus');
      void item.offsetWidth;
      item.classList.add('message-focus');
      focusPages.current = 0;
      onFocused?.();
      return;
    }
    const first = messages[0]?.seq;
    const last = messages[messages.length - 1]?.seq ?? 0;
    if (first !== undefined && focusSeq < first && log.hasOlder && focusPages.current < MAX_FOCUS_PAGES) {
      if (!loadingOlder) {
        focusPages.current++;
        onLoadOlder();
      }
      return;
    }
    // Newer than what is here: it is on its way through the stream. Otherwise it cannot be shown.
    if (focusSeq > last && focusSeq <= entry.room.lastSeq + 1) return;
    focusPages.current = 0;
    onFocused?.();
  }, [focusSeq, log.loaded, log.hasOlder, loadingOlder, messages, entry.room.lastSeq, onLoadOlder, onFocused]);

  // A short history that does not fill the screen: fetch more right away.
  useEffect(() => {
    const el = scroller.current;
    if (el && log.loaded && log.hasOlder && !loadingOlder && el.scrollHeight <= el.clientHeight + LOAD_OLDER_PX) onLoadOlder();
  }, [log.loaded, log.hasOlder, loadingOlder, messages.length, onLoadOlder]);

  const onScroll = () => {
    const el = scroller.current;
    if (!el) return;
    const top = el.scrollTop;
    if (el.scrollHeight - top - el.clientHeight < NEAR_BOTTOM_PX) {
      stick.current = true;
      setShowJump(false);
    } else if (top < lastTop.current - 1) {
      stick.current = false;
    }
    lastTop.current = top;
    if (top < LOAD_OLDER_PX && log.hasOlder && !loadingOlder) onLoadOlder();
  };

  const now = Date.now();
  // "New messages" goes above the first message from others since the read position the room was opened at.
  const firstUnread = firstUnreadSeq(messages, entry.dividerAfter, myUserId);
  let previous: Message | undefined;
  return (
    <div className="timeline">
      <div
        ref={scroller}
        className="message-scroller"
        onScroll={onScroll}
        role="log"
        aria-label={`Messages in ${entry.room.name}`}
        aria-live="polite"
        aria-relevant="additions"
        tabIndex={0}
        onPointerUp={onListPointerUp}
      >
        <div ref={content} className="message-list">
          {log.loaded && !log.hasOlder ? (
            <div className="room-start">
              <h2>Welcome to #{entry.room.name}</h2>
              <p>This is the start of the room. Webhooks added in Room settings post here too.</p>
            </div>
          ) : null}
          {loadingOlder ? <p className="list-status">Loading older messages…</p> : null}
          {log.hasOlder && !loadingOlder && log.loaded ? (
            <button type="button" className="button button-ghost load-older" onClick={onLoadOlder}>
              Load older messages
            </button>
          ) : null}
          {messages.map((m) => {
            const alert = m.deletedAt == null && alertsMe(m, myUserId);
            const newDay = !previous || !sameDay(previous.createdAt, m.createdAt);
            const continued = !newDay && !alert && m.seq !== firstUnread && continuesGroup(previous, m);
            previous = m;
            return (
              <Fragment key={m.id}>
                {newDay ? (
                  <div className="day-separator" role="separator">
                    <span>{dayLabel(m.createdAt, now)}</span>
                  </div>
                ) : null}
                {m.seq === firstUnread ? <NewMessagesDivider /> : null}
                <MessageItem
                  message={m}
                  myUserId={myUserId}
                  alert={alert}
                  continued={continued}
                  active={activeId === m.id}
                  isAdmin={isAdmin}
                  names={names}
                  handlers={handlers}
                />
              </Fragment>
            );
          })}
          {loadingLatest && messages.length === 0 ? <p className="list-status">Loading messages…</p> : null}
          {entry.loadError ? (
            <p className="list-status list-error" role="alert">
              {entry.loadError}
            </p>
          ) : null}
        </div>
      </div>
      {showJump ? (
        <button type="button" className="jump-latest" onClick={scrollToBottom}>
          <ArrowDownIcon />
          <span>New messages</span>
        </button>
      ) : null}
      <JumpToMention entry={entry} myUserId={myUserId} scroller={scroller} onLoadOlder={onLoadOlder} />
      {confirmDelete ? (
        <DeleteMessageDialog
          message={confirmDelete}
          mine={confirmDelete.sender.type === 'user' && confirmDelete.sender.id === myUserId}
          onDelete={() => actions.remove(confirmDelete.id)}
          onClose={() => setConfirmDelete(null)}
        />
      ) : null}
      {history ? <EditHistoryDialog message={history} load={() => actions.edits(history.id)} onClose={() => setHistory(null)} /> : null}
    </div>
  );
}
