/**
 * What a room shows of what is new since the reader left it (issue 13): the "New messages" line
 * above the first unread message, and "Jump to first unread mention" while an unread mention is
 * above the viewport (or older than the messages loaded so far).
 */
import { type RefObject, useCallback, useEffect, useState } from 'react';
import type { RoomEntry } from '../state/chat-store';
import { firstUnreadMention } from '../state/read-tracking';
import { ArrowUpIcon } from './icons';

export function NewMessagesDivider() {
  return (
    <div className="new-messages-divider" role="separator" aria-label="New messages">
      <span>New messages</span>
    </div>
  );
}

interface JumpToMentionProps {
  entry: RoomEntry;
  myUserId: string;
  scroller: RefObject<HTMLDivElement | null>;
  onLoadOlder(): void;
}

/** How many older pages a jump may load to reach the mention before it gives up. */
const MAX_PAGES = 20;

export function JumpToMention({ entry, myUserId, scroller, onLoadOlder }: JumpToMentionProps) {
  const { log, dividerAfter, mentionsAtOpen, loadingOlder } = entry;
  const target = firstUnreadMention(log.messages, dividerAfter, myUserId);
  // The mention may be older than what is loaded: the first loaded message is past the read position.
  const notLoadedYet = !target && mentionsAtOpen > 0 && dividerAfter !== null && log.hasOlder && (log.messages[0]?.seq ?? Infinity) > dividerAfter + 1;
  const [above, setAbove] = useState(false);
  const [seeking, setSeeking] = useState(0);

  const element = useCallback(
    (seq: number) => scroller.current?.querySelector<HTMLElement>(`[data-seq="${seq}"]`) ?? null,
    [scroller],
  );

  // Whether the target is above the viewport, on every scroll and whenever the list changes.
  useEffect(() => {
    const el = scroller.current;
    if (!el || !target) {
      setAbove(false);
      return;
    }
    const check = () => {
      const item = element(target.seq);
      setAbove(item !== null && item.getBoundingClientRect().bottom <= el.getBoundingClientRect().top + 1);
    };
    check();
    el.addEventListener('scroll', check, { passive: true });
    return () => el.removeEventListener('scroll', check);
  }, [scroller, target, element, log.messages]);

  // A jump to a mention not loaded yet loads older pages until it is there.
  useEffect(() => {
    if (seeking === 0) return;
    if (target) {
      element(target.seq)?.scrollIntoView({ block: 'center' });
      setSeeking(0);
    } else if (!log.hasOlder || seeking > MAX_PAGES) {
      setSeeking(0);
    } else if (!loadingOlder) {
      setSeeking((n) => n + 1);
      onLoadOlder();
    }
  }, [seeking, target, log.hasOlder, loadingOlder, onLoadOlder, element]);

  if (!(target && above) && !notLoadedYet) return null;
  return (
    <button
      type="button"
      className="jump-mention"
      onClick={() => {
        const item = target ? element(target.seq) : null;
        if (item) item.scrollIntoView({ block: 'center' });
        else setSeeking(1);
      }}
    >
      <ArrowUpIcon />
      <span>Jump to first unread mention</span>
    </button>
  );
}
