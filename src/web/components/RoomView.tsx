/** The open room: header (back on phones, name, members, the gear), messages, composer, roster. */
import { useMemo } from 'react';
import type { NotifyLevel, Roster, User } from '../../shared/api-types';
import type { WebhookFailingFrame } from '../lib/api';
import type { StreamStatus } from '../lib/stream';
import type { RoomEntry } from '../state/chat-store';
import { Composer } from './Composer';
import { BackIcon, CloseIcon, HashIcon, UsersIcon, WarningIcon } from './icons';
import { type MessageActions, MessageList } from './MessageList';
import { type MenuItem, RoomSettingsMenu } from './RoomSettingsMenu';
import { RosterPanel } from './RosterPanel';

interface RoomViewProps {
  entry: RoomEntry;
  roster: Roster | undefined;
  me: User;
  connection: StreamStatus;
  rosterOpen: boolean;
  onToggleRoster(): void;
  onBack(): void;
  onLoadOlder(): void;
  /** A message to bring into view (a notification was clicked, or a link to it opened), once. */
  focusSeq: number | null;
  onFocused(): void;
  onSend(content: string): Promise<void>;
  /** Opens Manage webhooks (pointing at a webhook, from a failure notice). */
  onManageWebhooks(webhookId?: string): void;
  onAuditLog(): void;
  onAddMembers(): void;
  /** The room's `webhook.failing` notices not dismissed yet (room administrators only). */
  webhookFailures?: readonly WebhookFailingFrame[];
  onDismissFailure?(webhookId: string): void;
  /** My own notification settings for the room. */
  onSettings(settings: { notify?: NotifyLevel; muted?: boolean }): void;
  /** Edit, delete, react to and read the history of the room's messages. */
  actions: MessageActions;
  /** Covered by the search results (phones): out of the way of focus and assistive technology. */
  covered?: boolean;
}

const NOTIFY_CHOICES: { level: NotifyLevel; label: string }[] = [
  { level: 'all', label: 'All messages' },
  { level: 'mentions', label: 'Mentions and alerts' },
  { level: 'none', label: 'Nothing' },
];

export function RoomView(props: RoomViewProps) {
  const { entry, roster, me } = props;
  const isAdmin = entry.room.role === 'administrator';
  const items: MenuItem[] = [
    ...(isAdmin
      ? [
          { label: 'Manage webhooks', onSelect: () => props.onManageWebhooks() },
          { label: 'Audit log', onSelect: props.onAuditLog },
        ]
      : []),
    isAdmin
      ? { label: 'Add members', onSelect: props.onAddMembers }
      : { label: 'Add members', onSelect: () => {}, disabled: true, hint: 'Only room administrators can add members' },
    ...NOTIFY_CHOICES.map(({ level, label }) => ({
      label,
      group: 'Notifications',
      checked: entry.room.notify === level,
      onSelect: () => props.onSettings({ notify: level }),
    })),
    entry.room.muted
      ? { label: 'Unmute room', onSelect: () => props.onSettings({ muted: false }) }
      : { label: 'Mute room', onSelect: () => props.onSettings({ muted: true }), hint: 'No notifications; unread count not emphasised' },
  ];
  const names = useMemo(() => {
    const map = new Map<string, string>([[me.id, me.displayName]]);
    for (const m of roster?.members ?? []) map.set(m.userId, m.displayName);
    return map;
  }, [roster, me.id, me.displayName]);
  const memberCount = roster?.members.length;
  const presentCount = roster?.members.filter((m) => m.present).length ?? 0;

  return (
    <main className="room" aria-label={`Room ${entry.room.name}`} inert={props.covered || undefined}>
      <header className="room-header">
        <button type="button" className="icon-button room-back" aria-label="Back to rooms" onClick={props.onBack}>
          <BackIcon />
        </button>
        <div className="room-title">
          <h1>
            <HashIcon className="room-title-hash" />
            <span>{entry.room.name}</span>
          </h1>
          <p className="room-subtitle">
            {memberCount === undefined ? '\u00a0' : `${memberCount} member${memberCount === 1 ? '' : 's'} · ${presentCount} here`}
            {isAdmin ? <span className="room-role">You are an administrator</span> : null}
          </p>
        </div>
        <div className="room-actions">
          <button
            type="button"
            className={`icon-button roster-toggle${props.rosterOpen ? ' icon-button-active' : ''}`}
            aria-label="Members"
            title="Members"
            aria-expanded={props.rosterOpen}
            onClick={props.onToggleRoster}
          >
            <UsersIcon />
          </button>
          <RoomSettingsMenu items={items} />
        </div>
      </header>
      {props.connection === 'offline' ? (
        <p className="banner" role="status">
          Connection lost. Reconnecting… new messages will appear when it is back.
        </p>
      ) : null}
      {isAdmin
        ? (props.webhookFailures ?? []).map((f) => (
            <div key={f.webhookId} className="banner banner-webhook-failing" role="alert" data-webhook-id={f.webhookId}>
              <WarningIcon className="banner-icon" />
              <p className="banner-text">
                Webhook “{f.webhookName}” failed {f.failures} times in the last {f.windowMinutes} minutes ({f.lastStatus} {f.lastCode})
              </p>
              <div className="banner-actions">
                <button type="button" className="button button-compact" onClick={() => props.onManageWebhooks(f.webhookId)}>
                  Open Manage webhooks
                </button>
                <button
                  type="button"
                  className="icon-button"
                  aria-label={`Dismiss the notice about “${f.webhookName}”`}
                  title="Dismiss"
                  onClick={() => props.onDismissFailure?.(f.webhookId)}
                >
                  <CloseIcon />
                </button>
              </div>
            </div>
          ))
        : null}
      <div className={`room-body${props.rosterOpen ? ' room-body-roster-open' : ''}`}>
        <div className="room-main">
          <MessageList
            entry={entry}
            myUserId={me.id}
            onLoadOlder={props.onLoadOlder}
            focusSeq={props.focusSeq}
            onFocused={props.onFocused}
            isAdmin={isAdmin}
            names={names}
            actions={props.actions}
          />
          <Composer roomId={entry.room.id} roomName={entry.room.name} connection={props.connection} onSend={props.onSend} />
        </div>
        <RosterPanel roster={roster} myUserId={me.id} onClose={props.onToggleRoster} />
      </div>
    </main>
  );
}
