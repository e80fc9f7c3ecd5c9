/**
 * Message search (issue 14): the box in the sidebar's header ("Search messages"; Enter searches)
 * and the results panel (region "Search results") over the room: room name, sender, time and the
 * server's snippet for each hit, newest first, filters for the room and the sender, Load more.
 * Choosing a hit opens its room at that message (/rooms/{id}?seq=N, highlighted). Escape closes.
 */
import { type KeyboardEvent, type MouseEvent, useCallback, useEffect, useId, useRef, useState } from 'react';
import type { Roster } from '../../shared/api-types';
import { LIMITS } from '../../shared/limits';
import { type SearchResult, api, errorMessage } from '../lib/api';
import { dayLabel, fullDate, senderLabel, timeOfDay } from '../lib/format';
import type { RoomEntry } from '../state/chat-store';
import { sortRooms } from '../state/chat-store';
import { CloseIcon, SearchIcon, WebhookIcon } from './icons';

const PAGE = LIMITS.searchPageDefault;

/**
 * The snippet is the server's escaped text with <mark> around the matches, and nothing else. Any
 * other `<` is escaped here too, so even a snippet that broke that rule could not add markup.
 */
export function safeSnippet(snippet: string): string {
  return snippet.replace(/<(?!\/?mark>)/gi, '&lt;');
}

interface SearchBoxProps {
  value: string;
  onChange(value: string): void;
  /** Enter: search for the value. */
  onSearch(value: string): void;
  /** Escape while the results are open. */
  onClose(): void;
  open: boolean;
}

export function SearchBox({ value, onChange, onSearch, onClose, open }: SearchBoxProps) {
  const onKeyDown = (e: KeyboardEvent<HTMLInputElement>) => {
    if (e.key === 'Escape') {
      e.preventDefault();
      if (open) onClose();
      else onChange('');
    }
  };
  return (
    <form
      role="search"
      className="search-box"
      onSubmit={(e) => {
        e.preventDefault();
        if (value.trim() !== '') onSearch(value.trim());
      }}
    >
      <SearchIcon className="search-box-icon" />
      <input
        type="search"
        aria-label="Search messages"
        placeholder="Search messages"
        value={value}
        maxLength={LIMITS.searchQueryMaxChars}
        enterKeyHint="search"
        autoComplete="off"
        onChange={(e) => onChange(e.target.value)}
        onKeyDown={onKeyDown}
      />
    </form>
  );
}

interface SearchPanelProps {
  query: string;
  rooms: readonly RoomEntry[];
  rosters: Readonly<Record<string, Roster>>;
  /** Loads a room's roster (for the sender filter). */
  needRoster(roomId: string): void;
  /** Opens the room at the message. */
  onOpen(roomId: string, seq: number): void;
  onClose(): void;
}

interface Results {
  items: SearchResult[];
  nextCursor: string | null;
}

/** `user:<id>` or `webhook:<id>`; '' for anyone. */
type SenderFilter = string;

export function SearchPanel({ query, rooms, rosters, needRoster, onOpen, onClose }: SearchPanelProps) {
  const [roomId, setRoomId] = useState('');
  const [sender, setSender] = useState<SenderFilter>('');
  const [results, setResults] = useState<Results | null>(null);
  const [loading, setLoading] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const generation = useRef(0);
  const panel = useRef<HTMLElement>(null);
  const id = useId();

  const fetchPage = useCallback(
    async (cursor: string | null) => {
      const gen = ++generation.current;
      setLoading(true);
      setError(null);
      const [kind, who] = sender.split(':') as [string, string | undefined];
      try {
        const page = await api.search({
          q: query,
          roomId: roomId || undefined,
          userId: kind === 'user' ? who : undefined,
          webhookId: kind === 'webhook' ? who : undefined,
          cursor: cursor ?? undefined,
          limit: PAGE,
        });
        if (gen !== generation.current) return;
        setResults((r) => ({ items: cursor && r ? [...r.items, ...page.results] : page.results, nextCursor: page.nextCursor }));
      } catch (e) {
        if (gen !== generation.current) return;
        setError(errorMessage(e));
        if (!cursor) setResults(null);
      } finally {
        if (gen === generation.current) setLoading(false);
      }
    },
    [query, roomId, sender],
  );

  useEffect(() => {
    void fetchPage(null);
  }, [fetchPage]);

  // The sender filter lists the members and webhooks of the chosen room (or of every room).
  const scope = roomId ? rooms.filter((r) => r.room.id === roomId) : rooms;
  useEffect(() => {
    for (const r of scope.slice(0, 50)) if (!rosters[r.room.id]) needRoster(r.room.id);
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [roomId, rooms.length]);
  const members = new Map<string, string>();
  const webhooks = new Map<string, string>();
  for (const r of scope) {
    const roster = rosters[r.room.id];
    for (const m of roster?.members ?? []) members.set(m.userId, m.displayName);
    for (const w of roster?.webhooks ?? []) webhooks.set(w.id, w.name);
  }
  const byName = (a: [string, string], b: [string, string]) => a[1].localeCompare(b[1]);

  // On a phone the panel covers the box it was opened from: focus goes to the panel.
  useEffect(() => {
    if (window.matchMedia('(max-width: 480px)').matches) panel.current?.focus();
  }, []);

  // Escape closes the results wherever the focus is (not while a dialog over them is open: Escape is its own).
  const onCloseRef = useRef(onClose);
  onCloseRef.current = onClose;
  useEffect(() => {
    const onKey = (e: globalThis.KeyboardEvent) => {
      if (e.key !== 'Escape' || e.defaultPrevented || document.querySelector('dialog[open]')) return;
      e.preventDefault();
      onCloseRef.current();
    };
    window.addEventListener('keydown', onKey);
    return () => window.removeEventListener('keydown', onKey);
  }, []);

  const open = (e: MouseEvent, r: SearchResult) => {
    // A plain click opens here; with a modifier the browser opens the link as it would.
    if (e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || e.altKey) return;
    e.preventDefault();
    onOpen(r.message.roomId, r.message.seq);
  };

  const now = Date.now();
  const items = results?.items ?? [];
  return (
    <section ref={panel} className="search-panel" role="region" aria-label="Search results" tabIndex={-1}>
      <header className="search-panel-header">
        <h2 className="search-panel-title">
          Results for <q>{query}</q>
        </h2>
        <button type="button" className="icon-button" aria-label="Close search" title="Close search (Esc)" onClick={onClose}>
          <CloseIcon />
        </button>
      </header>
      <div className="search-filters">
        <div className="search-filter">
          <label className="field-label" htmlFor={`${id}-room`}>
            Room
          </label>
          <select
            id={`${id}-room`}
            value={roomId}
            onChange={(e) => {
              setRoomId(e.target.value);
              setSender('');
            }}
          >
            <option value="">All rooms</option>
            {sortRooms(rooms).map((r) => (
              <option key={r.room.id} value={r.room.id}>
                #{r.room.name}
              </option>
            ))}
          </select>
        </div>
        <div className="search-filter">
          <label className="field-label" htmlFor={`${id}-sender`}>
            Sender
          </label>
          <select id={`${id}-sender`} value={sender} onChange={(e) => setSender(e.target.value)}>
            <option value="">Anyone</option>
            {members.size > 0 ? (
              <optgroup label="Members">
                {[...members].sort(byName).map(([userId, name]) => (
                  <option key={userId} value={`user:${userId}`}>
                    {name}
                  </option>
                ))}
              </optgroup>
            ) : null}
            {webhooks.size > 0 ? (
              <optgroup label="Webhooks">
                {[...webhooks].sort(byName).map(([webhookId, name]) => (
                  <option key={webhookId} value={`webhook:${webhookId}`}>
                    {name} (Webhook)
                  </option>
                ))}
              </optgroup>
            ) : null}
          </select>
        </div>
      </div>
      <div className="search-scroller">
        {error ? (
          <p className="form-error search-error" role="alert">
            {error}
          </p>
        ) : null}
        {results && items.length === 0 && !loading && !error ? <p className="search-empty">No messages match</p> : null}
        {items.length > 0 ? (
          <ol className="search-results">
            {items.map((r) => (
              <li key={r.message.id}>
                <a className="search-result" href={`/rooms/${r.message.roomId}?seq=${r.message.seq}`} onClick={(e) => open(e, r)}>
                  <span className="search-result-meta">
                    <span className="search-result-room">#{r.roomName}</span>
                    <span className="search-result-sender">
                      {senderLabel(r.message.sender)}
                      {r.message.sender.type === 'webhook' ? <WebhookIcon className="search-result-webhook" /> : null}
                    </span>
                    <time className="search-result-time" dateTime={new Date(r.message.createdAt).toISOString()} title={fullDate(r.message.createdAt)}>
                      {dayLabel(r.message.createdAt, now)}, {timeOfDay(r.message.createdAt)}
                    </time>
                  </span>
                  {/* The server's snippet: escaped text and <mark> only (safeSnippet makes sure). */}
                  <span className="search-result-snippet" dangerouslySetInnerHTML={{ __html: safeSnippet(r.snippet) }} />
                </a>
              </li>
            ))}
          </ol>
        ) : null}
        {loading ? (
          <p className="list-status" role="status">
            Searching…
          </p>
        ) : null}
        {results?.nextCursor && !loading ? (
          <button type="button" className="button search-more" onClick={() => void fetchPage(results.nextCursor)}>
            Load more
          </button>
        ) : null}
      </div>
    </section>
  );
}
