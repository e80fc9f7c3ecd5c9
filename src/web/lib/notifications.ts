/**
 * Desktop notifications for alerts (SPEC 4), only after the user asked for them with a button.
 * The body is plain text from the message content, never its HTML. They are shown through the
 * service worker when there is one (lib/service-worker.ts showAppNotification).
 */
import type { Room } from '../../shared/api-types';

/**
 * Whether a new message from someone else notifies, by the room's setting (issue 13): `all` → every
 * message; `mentions` (the default) → those that alert me; `none`, or a muted room → nothing.
 */
export function shouldNotify(room: Pick<Room, 'notify' | 'muted'>, alerting: boolean): boolean {
  if (room.muted) return false;
  switch (room.notify) {
    case 'all':
      return true;
    case 'none':
      return false;
    default:
      return alerting;
  }
}

export type NotificationPermissionState = 'unsupported' | 'default' | 'granted' | 'denied';

export function notificationPermission(): NotificationPermissionState {
  if (typeof window === 'undefined' || !('Notification' in window)) return 'unsupported';
  return Notification.permission;
}

export async function requestNotificationPermission(): Promise<NotificationPermissionState> {
  if (!('Notification' in window)) return 'unsupported';
  try {
    return await Notification.requestPermission();
  } catch {
    return notificationPermission();
  }
}
