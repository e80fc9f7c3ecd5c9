/**
 * Ctrl+K / Cmd+K (issue 14): a dialog "Switch room" with a box "Find a room" and the matching
 * rooms as a listbox — prefix matches first, then substrings, then the letters in order (fuzzy);
 * rooms with unread messages before the others, then by name. Arrow keys move, Enter opens,
 * Escape closes. The box keeps the focus (aria-activedescendant points at the chosen room).
 */
import { type KeyboardEvent, useEffect, useId, useMemo, useRef, useState } from 'react';
import { badgeCount } from '../lib/format';
import type { RoomEntry } from '../state/chat-store';
import { HashIcon } from './icons';
import { Modal } from './Modal';

/** Lower is better; null when the name does not match at all. */
export function matchScore(name: string, query: string): number | null {
  const n = name.toLowerCase();
  const q = query.trim().toLowerCase();
  if (q === '') return 0;
  if (n.startsWith(q)) return 0;
  const i = n.indexOf(q);
  if (i >= 0) return /[\s\-_./#]/.test(n[i - 1] ?? '') ? 1 : 2;
  let j = 0;
  for (const ch of n) if (ch === q[j]) j++;
  return j === q.length ? 3 : null;
}

export function rankRooms(rooms: readonly RoomEntry[], query: string): RoomEntry[] {
  const unread = (e: RoomEntry) => (e.alerts > 0 || (e.unread > 0 && !e.room.muted) ? 0 : 1);
  return rooms
    .map((e) => ({ e, score: matchScore(e.room.name, query) }))
    .filter((x): x is { e: RoomEntry; score: number } => x.score !== null)
    .sort((a, b) => a.score - b.score || unread(a.e) - unread(b.e) || a.e.room.name.localeCompare(b.e.room.name, undefined, { sensitivity: 'base' }))
    .map((x) => x.e);
}

interface RoomSwitcherProps {
  rooms: readonly RoomEntry[];
  activeRoomId: string | null;
  onOpen(roomId: string): void;
  onClose(): void;
}

export function RoomSwitcher({ rooms, activeRoomId, onOpen, onClose }: RoomSwitcherProps) {
  const [query, setQuery] = useState('');
  const [active, setActive] = useState(0);
  const input = useRef<HTMLInputElement>(null);
  const list = useRef<HTMLUListElement>(null);
  const id = useId();
  const matches = useMemo(() => rankRooms(rooms, query), [rooms, query]);
  const current = Math.min(active, Math.max(0, matches.length - 1));
  const optionId = (i: number) => `${id}-option-${i}`;

  // After the dialog's own focusing (Modal opens it in an effect that runs before this one).
  useEffect(() => {
    input.current?.focus();
  }, []);

  useEffect(() => {
    list.current?.querySelector<HTMLElement>(`[id="${optionId(current)}"]`)?.scrollIntoView({ block: 'nearest' });
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [current]);

  const choose = (e: RoomEntry | undefined) => {
    if (!e) return;
    onOpen(e.room.id);
  };

  const onKeyDown = (e: KeyboardEvent<HTMLInputElement>) => {
    if (e.nativeEvent.isComposing) return;
    const n = matches.length;
    if (e.key === 'ArrowDown' && n > 0) {
      e.preventDefault();
      setActive((current + 1) % n);
    } else if (e.key === 'ArrowUp' && n > 0) {
      e.preventDefault();
      setActive((current - 1 + n) % n);
    } else if (e.key === 'Enter') {
      e.preventDefault();
      choose(matches[current]);
    }
  };

  return (
    <Modal title="Switch room" onClose={onClose}>
      <div className="switcher">
        <input
          ref={input}
          className="switcher-input"
          type="text"
          aria-label="Find a room"
          placeholder="Find a room"
          autoComplete="off"
          spellCheck={false}
          aria-controls={`${id}-list`}
          aria-activedescendant={matches.length > 0 ? optionId(current) : undefined}
          value={query}
          onChange={(e) => {
            setQuery(e.target.value);
            setActive(0);
          }}
          onKeyDown={onKeyDown}
        />
        {matches.length === 0 ? (
          <p className="switcher-empty">No room matches.</p>
        ) : (
          <ul ref={list} id={`${id}-list`} className="switcher-list" role="listbox" aria-label="Rooms">
            {matches.map((e, i) => (
              <li
                key={e.room.id}
                id={optionId(i)}
                role="option"
                aria-selected={i === current}
                className={`switcher-option${i === current ? ' switcher-option-active' : ''}${e.room.id === activeRoomId ? ' switcher-option-current' : ''}`}
                onMouseMove={() => i !== current && setActive(i)}
                onClick={() => choose(e)}
              >
                <HashIcon className="switcher-hash" />
                <span className="switcher-name">{e.room.name}</span>
                {e.room.id === activeRoomId ? <span className="switcher-note">current</span> : null}
                {e.alerts > 0 ? (
                  <span className="badge badge-alert">
                    <span aria-hidden="true">@</span>
                    {badgeCount(e.alerts)}
                    <span className="visually-hidden"> alert{e.alerts === 1 ? '' : 's'}</span>
                  </span>
                ) : null}
                {e.unread > 0 ? (
                  <span className={`badge${e.room.muted ? ' badge-muted' : ''}`}>
                    {badgeCount(e.unread)}
                    <span className="visually-hidden"> unread</span>
                  </span>
                ) : null}
              </li>
            ))}
          </ul>
        )}
        <p className="switcher-help" aria-hidden="true">
          <kbd>↑</kbd> <kbd>↓</kbd> to choose, <kbd>Enter</kbd> to open, <kbd>Esc</kbd> to close
        </p>
      </div>
    </Modal>
  );
}
