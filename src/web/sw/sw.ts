/**
 * The service worker (issue 13): makes the web client an installable app whose shell loads offline,
 * and shows notifications — Web Push messages from the server (RFC 8030/8291; the payload is
 * src/shared/api-types.ts PushPayload) and the page's own in-tab alerts, which phone browsers only
 * allow through a service worker.
 *
 * Caching: the build's files are precached (Workbox, by content hash), and page URLs are answered
 * with the cached index.html, so the app opens without a network. The API, the stream and webhook
 * URLs are never cached: they always go to the server.
 */
/// <reference lib="webworker" />
import { cleanupOutdatedCaches, createHandlerBoundToURL, precacheAndRoute } from 'workbox-precaching';
import { NavigationRoute, registerRoute } from 'workbox-routing';
import type { PushPayload } from '../../shared/api-types';
import { type NotificationData, notificationFor } from './notification';

declare const self: ServiceWorkerGlobalScope & { __WB_MANIFEST: Array<{ url: string; revision: string | null }> };

precacheAndRoute(self.__WB_MANIFEST);
cleanupOutdatedCaches();
registerRoute(
  new NavigationRoute(createHandlerBoundToURL('/index.html'), {
    // Server pages that are not the app: their answers must come from the server.
    denylist: [/^\/api\//, /^\/incomingwebhooks\//, /^\/(?:healthz|readyz|metrics)$/],
  }),
);

// A new version takes over at once: the app shell is hashed files, so old and new never mix in one page.
self.addEventListener('install', () => void self.skipWaiting());
self.addEventListener('activate', (event) => event.waitUntil(self.clients.claim()));

self.addEventListener('push', (event) => {
  let payload: PushPayload | null = null;
  try {
    payload = (event.data?.json() ?? null) as PushPayload | null;
  } catch {
    payload = null;
  }
  const { title, options } = notificationFor(payload);
  event.waitUntil(self.registration.showNotification(title, options));
});

self.addEventListener('notificationclick', (event) => {
  event.notification.close();
  const data = (event.notification.data ?? {}) as Partial<NotificationData>;
  const url = new URL(data.url ?? '/', self.location.origin);
  // Only our own pages: a payload can never send the user elsewhere.
  if (url.origin !== self.location.origin) return;
  event.waitUntil(openOrFocus(url.href));
});

/** Focuses an open window of the app and tells it which room to show, or opens one at that URL. */
async function openOrFocus(href: string): Promise<void> {
  const windows = await self.clients.matchAll({ type: 'window', includeUncontrolled: true });
  const open = windows.find((w) => new URL(w.url).origin === self.location.origin);
  if (open) {
    open.postMessage({ type: 'carillon.open', url: href });
    await open.focus();
    return;
  }
  await self.clients.openWindow(href);
}
