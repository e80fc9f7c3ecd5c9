/**
 * Serves the single-page web client (SPEC 7) that Vite builds into dist/web: static files at `/`,
 * index.html for every other page URL (the SPA fallback), and a strict Content-Security-Policy on
 * HTML. The build emits no inline script or style, so the policy needs neither nonces nor
 * 'unsafe-inline'. When dist/web was not built (API-only tests), nothing is registered and the
 * API answers as usual.
 */
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import fastifyStatic from '@fastify/static';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';

export const WEB_CONTENT_SECURITY_POLICY = [
  "default-src 'self'",
  "script-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
  "frame-ancestors 'none'",
  // Markdown messages may show images from any http(s) URL (SPEC 3); they load without a referrer.
  "img-src 'self' https: http: data:",
  "style-src 'self'",
  "connect-src 'self' ws: wss:",
].join('; ');

/** Paths that are never the web app: their unknown URLs keep the JSON 404 (or their own answers). */
const NOT_PAGES = /^\/(?:api|incomingwebhooks|healthz|readyz|metrics|assets)(?:[/?]|$)/;

/**
 * dist/web beside the compiled server. Both src/server/http (tsx) and dist/server/http (tsc output)
 * sit three levels below the package root, so the same relative path works for both.
 */
export function defaultWebRoot(): string {
  return resolve(dirname(fileURLToPath(import.meta.url)), '../../../dist/web');
}

export interface WebClient {
  /** Answers a request no route matched with index.html when it is a page URL; false otherwise. */
  serveFallback(req: FastifyRequest, reply: FastifyReply): boolean;
}

function isHtmlOrSvg(path: string): boolean {
  return /\.(?:html|svg)$/i.test(path);
}

export async function registerWebClient(app: FastifyInstance, root: string = defaultWebRoot()): Promise<WebClient | null> {
  if (!existsSync(join(root, 'index.html'))) {
    app.log.info({ root }, 'web client not built (run npm run build); serving the API only');
    return null;
  }
  await app.register(fastifyStatic, {
    root,
    prefix: '/',
    index: 'index.html',
    // Hashed build assets never change; everything else (index.html, manifest, icons) revalidates.
    cacheControl: false,
    setHeaders(res, path) {
      const immutable = path.includes(`${join(root, 'assets')}`);
      res.setHeader('cache-control', immutable ? 'public, max-age=31536000, immutable' : 'no-cache');
      if (isHtmlOrSvg(path)) res.setHeader('content-security-policy', WEB_CONTENT_SECURITY_POLICY);
    },
  });
  return {
    serveFallback(req, reply) {
      if (req.method !== 'GET' && req.method !== 'HEAD') return false;
      const path = req.url.split('?')[0] ?? '/';
      if (NOT_PAGES.test(path)) return false;
      reply.header('content-security-policy', WEB_CONTENT_SECURITY_POLICY).header('cache-control', 'no-cache');
      void reply.code(200).sendFile('index.html');
      return true;
    },
  };
}
