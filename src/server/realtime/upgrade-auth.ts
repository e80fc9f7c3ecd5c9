/**
 * Who may open the stream: the credential of an upgrade request (a bearer token or the session
 * cookie, never the URL), the same-origin rule for cookies, and the JSON answer a refused upgrade
 * gets before ws owns the socket.
 */
import type { IncomingMessage } from 'node:http';
import { STATUS_CODES } from 'node:http';
import type { Duplex } from 'node:stream';
import type { Config } from '../config.js';
import { AppError, isAppError } from '../errors.js';
import { type CredentialSource, isSameOrigin, requestToken } from '../http/auth.js';
import { errorBody, errorHeaders, httpStatusOf } from '../http/error-handler.js';
import { type AuthService, hashSessionToken } from '../services/auth-service.js';
import { StoreUnavailableError, type UserRecord } from '../store/types.js';

export interface UpgradeAuthOptions {
  config: Config;
  auth: AuthService;
  /** Cookie header → cookies (the app's @fastify/cookie parser, so both read cookies alike). */
  parseCookie: (header: string) => Record<string, string | undefined>;
}

/** The signed-in user and the hash of their session token, or why the upgrade is refused. */
export type UpgradeAuth = { user: UserRecord; sessionId: string } | { refusal: AppError };

/** Checks the upgrade's credential; anything unexpected (a bug) is thrown. */
export async function authenticateUpgrade(req: IncomingMessage, options: UpgradeAuthOptions): Promise<UpgradeAuth> {
  const source: CredentialSource = {
    headers: req.headers,
    cookies: typeof req.headers.cookie === 'string' ? options.parseCookie(req.headers.cookie) : {},
  };
  let user: UserRecord | null;
  let sessionId = '';
  try {
    // The URL is never looked at for credentials: tokens in URLs end up in logs.
    const credential = requestToken(source);
    if (!credential) {
      return { refusal: new AppError('Unauthorized', 'Sign in first: send Authorization: Bearer <token> from POST /api/v1/auth/login, or the session cookie.') };
    }
    // Cross-site WebSocket hijacking (RELIABILITY S12): a browser sends the cookie whatever page
    // opens the socket, so a cookie upgrade must come from our own pages. A missing Origin is refused
    // too; API clients use the bearer token, which a foreign page cannot send.
    if (credential.via === 'cookie' && !isSameOrigin(source, options.config)) {
      return {
        refusal: new AppError(
          'Forbidden',
          'Cross-site stream refused: a stream signed in by cookie must be opened by this server\'s own pages (Origin). API clients should use Authorization: Bearer.',
        ),
      };
    }
    user = await options.auth.authenticate(credential.token);
    sessionId = hashSessionToken(credential.token);
  } catch (err) {
    if (isAppError(err)) return { refusal: new AppError(err.code, err.message) };
    if (err instanceof StoreUnavailableError) {
      return { refusal: new AppError('ServiceUnavailable', 'The database is unreachable; reconnect in a moment.', { retryAfterS: 5 }) };
    }
    throw err;
  }
  if (!user) return { refusal: new AppError('Unauthorized', 'This session or token is not valid (signed out or expired); sign in again.') };
  return { user, sessionId };
}

export function pathOf(url: string | undefined): string {
  const raw = url ?? '/';
  const q = raw.indexOf('?');
  return q === -1 ? raw : raw.slice(0, q);
}

/**
 * Answers an upgrade request with a JSON error (the API's {Code, Message}) and closes the socket;
 * status and headers (Retry-After) come from http/error-handler.ts, as on every HTTP answer.
 */
export function refuse(socket: Duplex, error: AppError): void {
  if (socket.destroyed || !socket.writable) {
    socket.destroy();
    return;
  }
  const status = httpStatusOf(error.code);
  const body = JSON.stringify(errorBody(error.code, error.message));
  const head = [
    `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? ''}`,
    'Connection: close',
    'Content-Type: application/json; charset=utf-8',
    `Content-Length: ${Buffer.byteLength(body)}`,
    'Cache-Control: no-store',
    'X-Content-Type-Options: nosniff',
    ...Object.entries(errorHeaders(error)).map(([k, v]) => `${k}: ${v}`),
  ];
  socket.once('finish', () => socket.destroy());
  socket.end(`${head.join('\r\n')}\r\n\r\n${body}`);
}
