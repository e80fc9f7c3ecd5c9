/**
 * The room's messages, oldest at the top. Sticks to the bottom while the reader is there, keeps
 * their place when older messages load on scroll up (before=), and offers a jump back down when
 * new messages arrive while they read history.
 */
import { Fragment, useCallback, useEffect, useLayoutEffect, useRef, useState } from 'react';
import type { Message } from '../../shared/api-types';
import { alertsMe, continuesGroup, dayLabel, sameDay } from '../lib/format';
import type { RoomEntry } from '../state/chat-store';
import { ArrowDownIcon } from './icons';
import { MessageItem } from './MessageItem';

interface MessageListProps {
  entry: RoomEntry;
  myUserId: string;
  onLoadOlder(): void;
}

const NEAR_BOTTOM_PX = 80;
const LOAD_OLDER_PX = 400;

export function MessageList({ entry, myUserId, onLoadOlder }: MessageListProps) {
  const { log, loadingOlder, loadingLatest } = entry;
  const messages = log.messages;
  const scroller = useRef<HTMLDivElement>(null);
  const atBottom = useRef(true);
  const prev = useRef<{ roomId: string; first: number | undefined; last: number | undefined; scrollHeight: number }>({
    roomId: '',
    first: undefined,
    last: undefined,
    scrollHeight: 0,
  });
  const [showJump, setShowJump] = useState(false);

  const scrollToBottom = useCallback(() => {
    const el = scroller.current;
    if (el) el.scrollTop = el.scrollHeight;
    atBottom.current = true;
    setShowJump(false);
  }, []);

  // After every render: keep the reader's place (prepend) or stick to the bottom (append).
  useLayoutEffect(() => {
    const el = scroller.current;
    if (!el) return;
    const first = messages[0]?.seq;
    const last = messages[messages.length - 1]?.seq;
    const p = prev.current;
    if (p.roomId !== entry.room.id) {
      el.scrollTop = el.scrollHeight;
      atBottom.current = true;
      setShowJump(false);
    } else if (first !== undefined && p.first !== undefined && first < p.first) {
      el.scrollTop += el.scrollHeight - p.scrollHeight;
    } else if (last !== p.last) {
      if (atBottom.current) el.scrollTop = el.scrollHeight;
      else if (last !== undefined && p.last !== undefined && last > p.last) setShowJump(true);
    }
    prev.current = { roomId: entry.room.id, first, last, scrollHeight: el.scrollHeight };
  });

  // Images in markdown messages load after layout: keep the bottom in view while they do.
  useEffect(() => {
    const el = scroller.current;
    if (!el) return;
    const onLoad = () => {
      if (atBottom.current) el.scrollTop = el.scrollHeight;
      prev.current.scrollHeight = el.scrollHeight;
    };
    el.addEventListener('load', onLoad, true);
    return () => el.removeEventListener('load', onLoad, true);
  }, []);

  // A short history that does not fill the screen: fetch more right away.
  useEffect(() => {
    const el = scroller.current;
    if (el && log.loaded && log.hasOlder && !loadingOlder && el.scrollHeight <= el.clientHeight + LOAD_OLDER_PX) onLoadOlder();
  }, [log.loaded, log.hasOlder, loadingOlder, messages.length, onLoadOlder]);

  const onScroll = () => {
    const el = scroller.current;
    if (!el) return;
    atBottom.current = el.scrollHeight - el.scrollTop - el.clientHeight < NEAR_BOTTOM_PX;
    if (atBottom.current) setShowJump(false);
    if (el.scrollTop < LOAD_OLDER_PX && log.hasOlder && !loadingOlder) onLoadOlder();
  };

  const now = Date.now();
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
      >
        <div className="message-list">
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
            const alert = alertsMe(m, myUserId);
            const newDay = !previous || !sameDay(previous.createdAt, m.createdAt);
            const continued = !newDay && !alert && continuesGroup(previous, m);
            previous = m;
            return (
              <Fragment key={m.id}>
                {newDay ? (
                  <div className="day-separator" role="separator">
                    <span>{dayLabel(m.createdAt, now)}</span>
                  </div>
                ) : null}
                <MessageItem message={m} myUserId={myUserId} alert={alert} continued={continued} />
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
    </div>
  );
}
