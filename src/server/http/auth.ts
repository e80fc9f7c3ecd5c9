/**
 * Who is calling: a bearer token (Authorization: Bearer) or the session cookie. Cookie-authenticated
 * writes must come from our own origin (CSRF): browsers always send Origin on non-GET requests, and
 * a cross-site page cannot forge it.
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Config } from '../config.js';
import { AppError } from '../errors.js';
import type { AuthService } from '../services/auth-service.js';
import type { UserRecord } from '../store/types.js';

export const SESSION_COOKIE = 'carillon_session';

export interface Caller {
  user: UserRecord;
  token: string;
  via: 'bearer' | 'cookie';
}

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

/** What the credential checks read: a Fastify request, or a raw upgrade request with its cookies parsed (realtime/upgrade-auth.ts). */
export type CredentialSource = Pick<FastifyRequest, 'headers' | 'cookies'>;

const unauthorized = () => new AppError('Unauthorized', 'Sign in first: send Authorization: Bearer <token> from POST /api/v1/auth/login, or the session cookie.');

/** The token a request carries, and how; a malformed Authorization header is an error, not "anonymous". */
export function requestToken(req: CredentialSource): { token: string; via: 'bearer' | 'cookie' } | null {
  const header = req.headers.authorization;
  if (header !== undefined) {
    const m = /^Bearer\s+([A-Za-z0-9_-]{20,200})\s*$/i.exec(header);
    if (!m) throw new AppError('Unauthorized', 'The Authorization header must be "Bearer <token>" with the token from POST /api/v1/auth/login.');
    return { token: m[1]!, via: 'bearer' };
  }
  const cookie = req.cookies?.[SESSION_COOKIE];
  return cookie ? { token: cookie, via: 'cookie' } : null;
}

/** The origins allowed to make cookie-authenticated writes: PUBLIC_URL's and the one the browser addressed. */
export function isSameOrigin(req: CredentialSource, config: Config): boolean {
  const origin = req.headers.origin;
  if (typeof origin !== 'string' || origin === 'null') return false;
  if (origin === new URL(config.publicUrl).origin) return true;
  const host = req.headers.host;
  return typeof host === 'string' && (origin === `http://${host}` || origin === `https://${host}`);
}

export function checkCsrf(req: FastifyRequest, config: Config): void {
  if (SAFE_METHODS.has(req.method)) return;
  if (!isSameOrigin(req, config)) {
    throw new AppError('Forbidden', 'Cross-site request refused: requests signed in by cookie must come from this server\'s own pages (Origin header). API clients should use Authorization: Bearer.');
  }
}

export async function optionalCaller(req: FastifyRequest, auth: AuthService, config: Config): Promise<Caller | null> {
  const t = requestToken(req);
  if (!t) return null;
  const user = await auth.authenticate(t.token);
  if (!user) {
    if (t.via === 'bearer') throw new AppError('Unauthorized', 'This token is not valid (signed out or expired); sign in again with POST /api/v1/auth/login.');
    return null;
  }
  if (t.via === 'cookie') checkCsrf(req, config);
  return { user, token: t.token, via: t.via };
}

export async function requireCaller(req: FastifyRequest, auth: AuthService, config: Config): Promise<Caller> {
  const caller = await optionalCaller(req, auth, config);
  if (!caller) throw unauthorized();
  return caller;
}

export function setSessionCookie(reply: FastifyReply, config: Config, token: string, expiresAt: number, now: number): void {
  reply.setCookie(SESSION_COOKIE, token, {
    path: '/',
    httpOnly: true,
    sameSite: 'lax',
    secure: config.publicUrl.startsWith('https:'),
    maxAge: Math.floor((expiresAt - now) / 1000),
  });
}

export function clearSessionCookie(reply: FastifyReply, config: Config): void {
  reply.clearCookie(SESSION_COOKIE, { path: '/', httpOnly: true, sameSite: 'lax', secure: config.publicUrl.startsWith('https:') });
}
