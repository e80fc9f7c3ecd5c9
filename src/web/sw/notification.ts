/** What a push payload shows (pure, so the page's in-tab alerts and pushes read alike). */
import type { PushPayload } from '../../shared/api-types';

export interface NotificationData {
  /** The app path to open on click (same origin only). */
  url: string;
  roomId: string | null;
}

export function notificationFor(payload: PushPayload | null): { title: string; options: NotificationOptions & { data: NotificationData } } {
  if (!payload || payload.type !== 'message') {
    // A push must always show something (browsers penalise silent pushes); this one has nothing to say.
    return { title: 'Carillon', options: { body: 'New activity', tag: 'carillon', icon: '/icons/icon-192.png', data: { url: '/', roomId: null } } };
  }
  return {
    title: payload.roomName,
    options: {
      body: `${payload.sender}: ${payload.body}`,
      // One notification per room: a burst of alerts replaces rather than stacks.
      tag: `room:${payload.roomId}`,
      icon: '/icons/icon-192.png',
      badge: '/icons/icon-192.png',
      timestamp: payload.createdAt,
      data: { url: payload.url, roomId: payload.roomId },
    } as NotificationOptions & { data: NotificationData },
  };
}
