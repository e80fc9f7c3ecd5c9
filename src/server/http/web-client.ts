/**
 * Serves the single-page web client (SPEC 7) that Vite builds into dist/web: static files at `/`,
 * index.html for every other page URL (the SPA fallback), and a strict Content-Security-Policy on
 * HTML. The build emits no inline script or style, so the policy needs neither nonces nor
 * 'unsafe-inline'. When dist/web was not built (API-only tests), nothing is registered and the
 * API answers as usual.
 *
 * Compression costs nothing per request: the build writes brotli (.br) and gzip (.gz) copies beside
 * each text file (vite.config.ts) and @fastify/static picks one by Accept-Encoding (`preCompressed`).
 * Only these static routes do it; API and webhook responses are never compressed. Source maps are not
 * in dist/web, and *.map (like the .br/.gz copies themselves) is never served.
 */
import { existsSync } from 'node:fs';
import { join, resolve, sep } from 'node:path';
import fastifyStatic from '@fastify/static';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { WEB_ROOT } from '../runtime-files.js';

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

/** Files never served by their own URL, nor answered with the page: source maps and the precompressed copies. */
const NOT_SERVED = /\.(?:map|br|gz)$/i;

/** The suffixes of the precompressed copies that @fastify/static sends in place of a file. */
const ENCODED_COPY = /\.(?:br|gz)$/;

/** dist/web, from source as from the built bundle (runtime-files.ts). */
export function defaultWebRoot(): string {
  return WEB_ROOT;
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
  // Where the hashed build assets are, as @fastify/send names the files it sends (resolved).
  const assetsDir = join(resolve(root), 'assets') + sep;
  await app.register(fastifyStatic, {
    root,
    prefix: '/',
    index: 'index.html',
    // file.br / file.gz from the build, by Accept-Encoding (br first); the file itself otherwise.
    preCompressed: true,
    allowedPath: (pathname) => !NOT_SERVED.test(pathname),
    // Hashed build assets never change; everything else (index.html, manifest, icons) revalidates.
    cacheControl: false,
    setHeaders(res, sentPath) {
      // `sentPath` is the .br or .gz copy when one is sent: its headers are those of the file it encodes.
      const path = sentPath.replace(ENCODED_COPY, '');
      const immutable = path.startsWith(assetsDir);
      res.setHeader('cache-control', immutable ? 'public, max-age=31536000, immutable' : 'no-cache');
      // The bytes depend on Accept-Encoding: caches must keep the variants apart.
      res.setHeader('vary', 'Accept-Encoding');
      if (isHtmlOrSvg(path)) res.setHeader('content-security-policy', WEB_CONTENT_SECURITY_POLICY);
    },
  });
  return {
    serveFallback(req, reply) {
      if (req.method !== 'GET' && req.method !== 'HEAD') return false;
      const path = req.url.split('?')[0] ?? '/';
      if (NOT_PAGES.test(path) || NOT_SERVED.test(path)) return false;
      reply.header('content-security-policy', WEB_CONTENT_SECURITY_POLICY).header('cache-control', 'no-cache');
      void reply.code(200).sendFile('index.html');
      return true;
    },
  };
}
