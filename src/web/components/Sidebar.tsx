/** The rooms list with unread and alert badges, New room, and the signed-in user's corner. */
import type { ReactNode } from 'react';
import type { User } from '../../shared/api-types';
import { badgeCount } from '../lib/format';
import type { StreamStatus } from '../lib/stream';
import { type RoomEntry, sortRooms } from '../state/chat-store';
import { Avatar } from './Avatar';
import { BellIcon, BellOffIcon, HashIcon, PlusIcon, SignOutIcon, UserPlusIcon } from './icons';
import { Logo } from './Logo';
import type { NotificationPermissionState } from '../lib/notifications';

interface SidebarProps {
  me: User;
  rooms: readonly RoomEntry[];
  activeRoomId: string | null;
  connection: StreamStatus;
  notifications: NotificationPermissionState;
  onSelect(roomId: string): void;
  onNewRoom(): void;
  onNewUser(): void;
  onEnableNotifications(): void;
  onSignOut(): void;
  /** The message search box (SearchPanel.tsx), under the header. */
  search?: ReactNode;
}

const CONNECTION_TEXT: Record<StreamStatus, string> = {
  live: 'Connected',
  connecting: 'Connecting…',
  offline: 'Offline, reconnecting…',
};

export function Sidebar(props: SidebarProps) {
  const { me, rooms, activeRoomId } = props;
  const sorted = sortRooms(rooms);
  return (
    <aside className="sidebar" aria-label="Rooms and account">
      <header className="sidebar-header">
        <div className="brand">
          <Logo size={28} />
          <span className="brand-name">Carillon</span>
        </div>
        <button type="button" className="button button-primary button-compact" onClick={props.onNewRoom}>
          <PlusIcon />
          <span>New room</span>
        </button>
      </header>
      {props.search}

      <nav className="room-nav" aria-label="Rooms">
        <h2 className="sidebar-section-title" id="rooms-heading">
          Rooms
        </h2>
        {sorted.length === 0 ? (
          <p className="sidebar-empty">No rooms yet. Create one with New room, or ask a room administrator to add you.</p>
        ) : (
          <ul className="room-list" aria-labelledby="rooms-heading">
            {sorted.map(({ room, unread, alerts }) => {
              const active = room.id === activeRoomId;
              // A muted room's unread count is shown, but not emphasised; its mentions still are.
              const emphasised = unread > 0 && !room.muted;
              return (
                <li key={room.id}>
                  <button
                    type="button"
                    className={`room-item${active ? ' room-item-active' : ''}${emphasised ? ' room-item-unread' : ''}${room.muted ? ' room-item-muted' : ''}`}
                    aria-current={active ? 'page' : undefined}
                    data-room-id={room.id}
                    onClick={() => props.onSelect(room.id)}
                  >
                    <HashIcon className="room-item-hash" />
                    <span className="room-item-name">{room.name}</span>
                    {room.muted ? (
                      <span className="room-item-muted-icon" title="Muted">
                        <BellOffIcon />
                        <span className="visually-hidden"> (muted)</span>
                      </span>
                    ) : null}
                    {alerts > 0 ? (
                      <span className="badge badge-alert" title={`${alerts} alerting message${alerts === 1 ? '' : 's'}`}>
                        <span aria-hidden="true">@</span>
                        {badgeCount(alerts)}
                        <span className="visually-hidden"> alert{alerts === 1 ? '' : 's'}</span>
                      </span>
                    ) : null}
                    {unread > 0 ? (
                      <span className={`badge badge-unread${room.muted ? ' badge-muted' : ''}`} title={`${badgeCount(unread)} unread message${unread === 1 ? '' : 's'}`}>
                        {badgeCount(unread)}
                        <span className="visually-hidden"> unread</span>
                      </span>
                    ) : null}
                  </button>
                </li>
              );
            })}
          </ul>
        )}
      </nav>

      <footer className="sidebar-footer">
        <p className={`connection connection-${props.connection}`} role="status">
          <span className="connection-dot" aria-hidden="true" />
          {CONNECTION_TEXT[props.connection]}
        </p>
        {props.notifications === 'default' ? (
          <button type="button" className="button button-ghost button-block" onClick={props.onEnableNotifications}>
            <BellIcon />
            <span>Enable desktop notifications</span>
          </button>
        ) : props.notifications === 'denied' ? (
          <p className="sidebar-note">Desktop notifications are blocked in this browser's site settings.</p>
        ) : null}
        {me.isSystemAdmin ? (
          <button type="button" className="button button-ghost button-block" onClick={props.onNewUser}>
            <UserPlusIcon />
            <span>New user</span>
          </button>
        ) : null}
        <div className="me">
          <Avatar id={me.id} name={me.displayName} />
          <div className="me-text">
            <span className="me-name">{me.displayName}</span>
            <span className="me-alias">@{me.alias}</span>
          </div>
          <button type="button" className="icon-button" aria-label="Sign out" title="Sign out" onClick={props.onSignOut}>
            <SignOutIcon />
          </button>
        </div>
      </footer>
    </aside>
  );
}
