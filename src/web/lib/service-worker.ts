/**
 * The page's side of the service worker (src/web/sw/sw.ts): registration, navigation asked for by
 * a notification click, notifications shown through the worker (phone browsers allow no other
 * kind), and this device's Web Push subscription (issue 13).
 */
import type { PushPublicKey, PushSubscriptionInput } from '../../shared/api-types';

const SW_URL = '/sw.js';

function supported(): boolean {
  return typeof navigator !== 'undefined' && 'serviceWorker' in navigator && window.isSecureContext;
}

/** Registers the worker (production builds only: the dev server does not build it). */
export function registerServiceWorker(): void {
  if (!supported() || !import.meta.env.PROD) return;
  navigator.serviceWorker.register(SW_URL).catch(() => {
    // Without a worker the app still works online; only offline start and push are missing.
  });
  // A notification was clicked: show that room (the app follows history like a back button press).
  navigator.serviceWorker.addEventListener('message', (ev: MessageEvent<{ type?: string; url?: string }>) => {
    if (ev.data?.type !== 'carillon.open' || typeof ev.data.url !== 'string') return;
    const url = new URL(ev.data.url, window.location.origin);
    if (url.origin !== window.location.origin) return;
    window.history.pushState(null, '', url.pathname + url.search);
    window.dispatchEvent(new PopStateEvent('popstate'));
  });
}

async function activeRegistration(): Promise<ServiceWorkerRegistration | null> {
  if (!supported()) return null;
  const reg = await navigator.serviceWorker.getRegistration(SW_URL).catch(() => undefined);
  return reg?.active ? reg : null;
}

/**
 * Shows a notification through the worker when there is one, else with the page's Notification
 * constructor (desktop browsers without a worker). `url` is the app path a click opens.
 */
export async function showAppNotification(title: string, options: { body: string; tag: string; url: string }, onPageClick: () => void): Promise<void> {
  if (!('Notification' in window) || Notification.permission !== 'granted') return;
  const reg = await activeRegistration();
  if (reg) {
    await reg.showNotification(title, { body: options.body, tag: options.tag, icon: '/icons/icon-192.png', data: { url: options.url, roomId: null } });
    return;
  }
  try {
    const n = new Notification(title, { body: options.body, tag: options.tag, icon: '/icons/icon-192.png' });
    n.onclick = () => {
      window.focus();
      onPageClick();
      n.close();
    };
  } catch {
    // Some browsers allow notifications only from a worker; the badge still counts.
  }
}

function base64UrlToBytes(s: string): Uint8Array<ArrayBuffer> {
  const b64 = s.replace(/-/g, '+').replace(/_/g, '/') + '='.repeat((4 - (s.length % 4)) % 4);
  const bin = atob(b64);
  const out = new Uint8Array(new ArrayBuffer(bin.length));
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
}

export type PushSetup = 'subscribed' | 'unsupported' | 'failed';

/**
 * Subscribes this device to Web Push and registers it with the server (notification permission
 * must be granted). Safe to repeat: the server answers 200 for an endpoint it already has.
 */
export async function enablePush(api: {
  publicKey(): Promise<PushPublicKey>;
  saveSubscription(s: PushSubscriptionInput): Promise<unknown>;
}): Promise<PushSetup> {
  const reg = await activeRegistration().catch(() => null);
  if (!reg || !('pushManager' in reg)) return 'unsupported';
  try {
    const { publicKey } = await api.publicKey();
    const key = base64UrlToBytes(publicKey);
    let sub = await reg.pushManager.getSubscription();
    // A subscription made with another server key (the server secret changed) is useless: replace it.
    const current = sub?.options.applicationServerKey;
    if (sub && current && !sameBytes(new Uint8Array(current), key)) {
      await sub.unsubscribe();
      sub = null;
    }
    sub ??= await reg.pushManager.subscribe({ userVisibleOnly: true, applicationServerKey: key });
    await api.saveSubscription(sub.toJSON() as PushSubscriptionInput);
    return 'subscribed';
  } catch {
    // No push service reachable (e.g. a browser without one), or the server refused the endpoint.
    return 'failed';
  }
}

/** On sign-out: this device stops receiving the user's pushes (the server forgets it too). */
export async function disablePush(api: { deleteSubscription(endpoint: string): Promise<unknown> }): Promise<void> {
  const reg = await activeRegistration().catch(() => null);
  const sub = await reg?.pushManager.getSubscription().catch(() => null);
  if (!sub) return;
  await api.deleteSubscription(sub.endpoint).catch(() => {});
  await sub.unsubscribe().catch(() => false);
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((v, i) => v === b[i]);
}
