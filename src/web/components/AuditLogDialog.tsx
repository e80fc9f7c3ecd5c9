/**
 * Audit log (issue 15), for room administrators: who created, renamed, regenerated, deleted or
 * changed the settings of the room's webhooks, and when; newest first, Load more for older pages.
 */
import { useCallback, useEffect, useRef, useState } from 'react';
import { type AuditEntry, api, errorMessage } from '../lib/api';
import { fullDate } from '../lib/format';
import { auditActionLabel, auditDetails, logTime } from '../lib/webhook-ops';
import { FormError } from './AuthScreens';
import { Modal } from './Modal';

const PAGE = 50;

export function AuditLogDialog({ roomId, roomName, onClose }: { roomId: string; roomName: string; onClose(): void }) {
  const [entries, setEntries] = useState<AuditEntry[] | null>(null);
  const [more, setMore] = useState(false);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const alive = useRef(true);

  const load = useCallback(
    async (before?: string) => {
      setBusy(true);
      setError(null);
      try {
        const page = await api.audit(roomId, { limit: PAGE, ...(before ? { before } : {}) });
        if (!alive.current) return;
        setEntries((list) => (before ? [...(list ?? []), ...page.entries.filter((e) => !list?.some((x) => x.id === e.id))] : page.entries));
        setMore(page.entries.length >= PAGE);
      } catch (e) {
        if (!alive.current) return;
        setError(errorMessage(e));
        setEntries((list) => list ?? []);
      } finally {
        if (alive.current) setBusy(false);
      }
    },
    [roomId],
  );

  useEffect(() => {
    alive.current = true;
    void load();
    return () => {
      alive.current = false;
    };
  }, [load]);

  const now = Date.now();
  return (
    <Modal title="Audit log" onClose={onClose} size="large" description={`Changes to the webhooks of #${roomName}: who made them and when, newest first.`}>
      <div className="audit">
        <FormError message={error} />
        {entries === null ? <p className="list-status">Loading the audit log…</p> : null}
        {entries !== null && entries.length === 0 && !error ? <p className="webhooks-empty">No webhook changes yet</p> : null}
        {entries !== null && entries.length > 0 ? (
          <div className="table-scroll">
            <table className="log-table audit-table" aria-label="Audit log">
              <thead>
                <tr>
                  <th scope="col">Time</th>
                  <th scope="col">Who</th>
                  <th scope="col">Action</th>
                  <th scope="col">Webhook</th>
                  <th scope="col">Details</th>
                </tr>
              </thead>
              <tbody>
                {entries.map((e) => (
                  <tr key={e.id} data-audit-id={e.id} data-action={e.action}>
                    <td className="log-time">
                      <time dateTime={new Date(e.at).toISOString()} title={fullDate(e.at)}>
                        {logTime(e.at, now)}
                      </time>
                    </td>
                    <td>
                      {e.actor.name}
                      {e.actor.type === 'server' ? <span className="log-muted"> (server)</span> : null}
                    </td>
                    <td title={e.action}>{auditActionLabel(e.action)}</td>
                    <td className="audit-webhook">{e.webhookName}</td>
                    <td className="audit-details">{auditDetails(e.details)}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        ) : null}
        <div className="form-actions">
          {more ? (
            <button type="button" className="button" disabled={busy} onClick={() => void load(entries?.[entries.length - 1]?.id)}>
              Load more
            </button>
          ) : null}
          <button type="button" className="button button-primary" onClick={onClose}>
            Done
          </button>
        </div>
      </div>
    </Modal>
  );
}
