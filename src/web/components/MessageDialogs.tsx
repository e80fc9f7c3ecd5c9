/** The dialogs of a message's actions (issue 14): confirming a deletion, and an edited message's history. */
import { useEffect, useState } from 'react';
import type { Message, MessageEdit } from '../../shared/api-types';
import { errorMessage } from '../lib/api';
import { fullDate, senderLabel } from '../lib/format';
import { FormError } from './AuthScreens';
import { Modal } from './Modal';

export function DeleteMessageDialog({ message, mine, onDelete, onClose }: { message: Message; mine: boolean; onDelete(): Promise<void>; onClose(): void }) {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const remove = async () => {
    setBusy(true);
    setError(null);
    try {
      await onDelete();
      onClose();
    } catch (e) {
      setError(errorMessage(e));
      setBusy(false);
    }
  };
  const description = mine
    ? 'Everyone in the room will see “This message was deleted.” in its place. This cannot be undone.'
    : `This message from ${senderLabel(message.sender)} will read “This message was deleted by a room administrator.” for everyone. This cannot be undone.`;
  return (
    <Modal title="Delete message" onClose={onClose} description={description}>
      <div className="form">
        <FormError message={error} />
        <div className="form-actions">
          <button type="button" className="button" onClick={onClose} autoFocus>
            Cancel
          </button>
          <button type="button" className="button button-danger" onClick={() => void remove()} disabled={busy}>
            Delete
          </button>
        </div>
      </div>
    </Modal>
  );
}

export function EditHistoryDialog({ message, load, onClose }: { message: Message; load(): Promise<MessageEdit[]>; onClose(): void }) {
  const [edits, setEdits] = useState<MessageEdit[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  useEffect(() => {
    let alive = true;
    load().then(
      (e) => alive && setEdits([...e].sort((a, b) => b.version - a.version)),
      (e: unknown) => alive && setError(errorMessage(e)),
    );
    return () => {
      alive = false;
    };
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [message.id]);
  return (
    <Modal title="Edit history" onClose={onClose} description={`Earlier versions of this message from ${senderLabel(message.sender)}, newest first.`}>
      <FormError message={error} />
      {edits === null && error === null ? <p className="list-status">Loading…</p> : null}
      {edits !== null ? (
        <ol className="edit-history">
          <li className="edit-history-item edit-history-current">
            <p className="edit-history-meta">Current{message.editedAt != null ? ` · since ${fullDate(message.editedAt)}` : ''}</p>
            <pre className="edit-history-content">{message.content}</pre>
          </li>
          {edits.map((e) => (
            <li key={e.version} className="edit-history-item">
              <p className="edit-history-meta">
                {fullDate(e.createdAt)} – {fullDate(e.replacedAt)}
              </p>
              <pre className="edit-history-content">{e.content}</pre>
            </li>
          ))}
          {edits.length === 0 ? <li className="edit-history-empty">No earlier versions are kept.</li> : null}
        </ol>
      ) : null}
    </Modal>
  );
}
