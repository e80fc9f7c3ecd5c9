/** The message box (SPEC 7): textbox "Message"; Enter sends, Shift+Enter starts a new line. */
import { type FormEvent, type KeyboardEvent, useEffect, useRef, useState } from 'react';
import { LIMITS } from '../../shared/limits';
import { errorMessage } from '../lib/api';
import { SendIcon } from './icons';

function codePoints(s: string): number {
  let n = 0;
  for (const _ of s) n++;
  return n;
}

export function Composer({ roomId, roomName, onSend }: { roomId: string; roomName: string; onSend(content: string): Promise<void> }) {
  const [text, setText] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
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
      setError(errorMessage(e));
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
          {error}
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
