/** The message box (SPEC 7): textbox "Message"; Enter sends, Shift+Enter starts a new line. */
import { type FormEvent, type KeyboardEvent, useEffect, useRef, useState } from 'react';
import { LIMITS } from '../../shared/limits';
import { ApiError, errorMessage } from '../lib/api';
import type { StreamStatus } from '../lib/stream';
import { SendIcon } from './icons';

function codePoints(s: string): number {
  let n = 0;
  for (const _ of s) n++;
  return n;
}

interface ComposerProps {
  roomId: string;
  roomName: string;
  /** The stream's state: once it is live again the server is reachable, and a network error is stale. */
  connection: StreamStatus;
  onSend(content: string): Promise<void>;
}

/** Why the last send failed; `unreachable` when the server could not be reached at all (the draft is kept). */
interface SendError {
  message: string;
  unreachable: boolean;
}

export function Composer({ roomId, roomName, connection, onSend }: ComposerProps) {
  const [text, setText] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<SendError | null>(null);
  const drafts = useRef(new Map<string, string>());
  const box = useRef<HTMLTextAreaElement>(null);
  const currentRoom = useRef(roomId);

  // One draft per room, kept while switching rooms.
  useEffect(() => {
    if (currentRoom.current !== roomId) {
      drafts.current.set(currentRoom.current, text);
      currentRoom.current = roomId;
      setText(drafts.current.get(roomId) ?? '');
      setError(null);
    }
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [roomId]);

  // "Cannot reach the server" is over once the connection is back: the draft can be sent now.
  useEffect(() => {
    if (connection === 'live') setError((e) => (e?.unreachable ? null : e));
  }, [connection]);

  const length = codePoints(text);
  const tooLong = length > LIMITS.contentMaxCodePoints;

  const send = async () => {
    if (busy || text.trim() === '' || tooLong) return;
    setBusy(true);
    setError(null);
    try {
      await onSend(text);
      setText('');
      drafts.current.delete(roomId);
    } catch (e) {
      setError({ message: errorMessage(e), unreachable: e instanceof ApiError && e.status === 0 });
    } finally {
      setBusy(false);
      box.current?.focus();
    }
  };

  const onKeyDown = (e: KeyboardEvent<HTMLTextAreaElement>) => {
    if (e.key === 'Enter' && !e.shiftKey && !e.nativeEvent.isComposing) {
      e.preventDefault();
      void send();
    }
  };

  const onSubmit = (e: FormEvent) => {
    e.preventDefault();
    void send();
  };

  return (
    <form className="composer" onSubmit={onSubmit}>
      {error ? (
        <p className="composer-error" role="alert">
          {error.message}
        </p>
      ) : null}
      <div className={`composer-box${tooLong ? ' composer-box-invalid' : ''}`}>
        <textarea
          ref={box}
          aria-label="Message"
          placeholder={`Message #${roomName}`}
          rows={1}
          value={text}
          onChange={(e) => setText(e.target.value)}
          onKeyDown={onKeyDown}
          aria-describedby="composer-help"
          aria-invalid={tooLong || undefined}
          enterKeyHint="send"
        />
        <button type="submit" className="composer-send" aria-label="Send" disabled={busy || text.trim() === '' || tooLong}>
          <SendIcon />
        </button>
      </div>
      <p id="composer-help" className="composer-help">
        {length > LIMITS.contentMaxCodePoints - 200 ? (
          <span className={tooLong ? 'composer-count-over' : ''}>
            {length} / {LIMITS.contentMaxCodePoints}
          </span>
        ) : (
          <span>
            <kbd>Enter</kbd> to send, <kbd>Shift</kbd>+<kbd>Enter</kbd> for a new line, <code>/md</code> for Markdown
          </span>
        )}
      </p>
    </form>
  );
}
