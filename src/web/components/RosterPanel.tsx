/**
 * Who is in the room (SPEC 7): members with a presence dot (present = has this room open in some
 * client), and the room's webhooks with the webhook icon. Nothing here is clickable (SPEC 2.4:
 * users cannot interact with webhooks).
 */
import { useId } from 'react';
import type { Roster } from '../../shared/api-types';
import { Avatar } from './Avatar';
import { CloseIcon, WebhookIcon } from './icons';

export function RosterPanel({ roster, myUserId, onClose }: { roster: Roster | undefined; myUserId: string; onClose?: () => void }) {
  const members = roster ? [...roster.members].sort((a, b) => Number(b.present) - Number(a.present) || a.displayName.localeCompare(b.displayName)) : [];
  const webhooks = roster ? [...roster.webhooks].sort((a, b) => a.name.localeCompare(b.name)) : [];
  const id = useId();
  return (
    <aside className="roster" aria-label="Roster">
      {onClose ? (
        <div className="roster-close">
          <button type="button" className="icon-button" aria-label="Hide members" onClick={onClose}>
            <CloseIcon />
          </button>
        </div>
      ) : null}
      <section aria-labelledby={`${id}-members`}>
        <h2 id={`${id}-members`} className="roster-title">
          Members <span className="roster-count">{members.length}</span>
        </h2>
        {!roster ? <p className="roster-empty">Loading…</p> : null}
        <ul className="roster-list">
          {members.map((m) => (
            <li key={m.userId} className="roster-item" data-user-id={m.userId}>
              <span className="roster-avatar">
                <Avatar id={m.userId} name={m.displayName} size="small" />
                <span
                  className={`presence-dot${m.present ? ' presence-dot-present' : ''}`}
                  role="img"
                  aria-label={m.present ? 'Present in this room' : 'Not in this room'}
                  title={m.present ? 'Present in this room' : 'Not in this room'}
                />
              </span>
              <span className="roster-name" title={`${m.displayName} @${m.alias}`}>
                <span className="roster-name-text">{m.displayName}</span>
                {m.userId === myUserId ? <span className="roster-you">you</span> : null}
              </span>
              {m.role === 'administrator' ? <span className="roster-role">Admin</span> : null}
            </li>
          ))}
        </ul>
      </section>
      <section aria-labelledby={`${id}-webhooks`}>
        <h2 id={`${id}-webhooks`} className="roster-title">
          Webhooks <span className="roster-count">{webhooks.length}</span>
        </h2>
        {roster && webhooks.length === 0 ? <p className="roster-empty">No webhooks in this room.</p> : null}
        <ul className="roster-list">
          {webhooks.map((w) => (
            <li key={w.id} className="roster-item roster-webhook" data-webhook-id={w.id}>
              <span className="roster-webhook-icon">
                <WebhookIcon label="Webhook" />
              </span>
              <span className="roster-name">{w.name}</span>
            </li>
          ))}
        </ul>
      </section>
    </aside>
  );
}
