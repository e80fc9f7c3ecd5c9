/**
 * Builds the web client (src/web) into dist/web, which the server serves at / (src/server/http/web-client.ts).
 * The output must run under a strict CSP (script-src 'self'; style-src 'self'): no inline script or style.
 *
 * Every compressible file of dist/web also gets a brotli (.br) and a gzip (.gz) copy beside it, made
 * once here, so the server answers by Accept-Encoding without compressing per request. Source maps
 * are never in dist/web: they go to dist/web-sourcemaps (not served) and the JS does not point at them.
 */
import { mkdirSync, readFileSync, readdirSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { brotliCompressSync, constants as zlib, gzipSync } from 'node:zlib';
import react from '@vitejs/plugin-react';
import { type Plugin, defineConfig } from 'vite';
import { VitePWA } from 'vite-plugin-pwa';

const devApi = process.env.CARILLON_DEV_API ?? 'http://127.0.0.1:8080';

/** Text formats worth compressing (images such as PNG are compressed already). */
const COMPRESSIBLE = /\.(?:js|mjs|css|html|svg|webmanifest|json|txt|xml|ico)$/i;

/**
 * Moves the (hidden) source maps out of the served directory, then writes `file.br` (brotli, best
 * quality) and `file.gz` (gzip -9) beside every compressible file, when they are smaller.
 */
function precompressAndHideSourceMaps(): Plugin {
  let outDir = '';
  let mapsDir = '';
  return {
    name: 'carillon:precompress',
    apply: 'build',
    configResolved(config) {
      outDir = resolve(config.root, config.build.outDir);
      mapsDir = `${outDir}-sourcemaps`;
    },
    buildStart() {
      rmSync(mapsDir, { recursive: true, force: true });
    },
    writeBundle() {
      const walk = (dir: string): string[] =>
        readdirSync(dir).flatMap((name) => {
          const p = join(dir, name);
          return statSync(p).isDirectory() ? walk(p) : [p];
        });
      for (const file of walk(outDir)) {
        if (file.endsWith('.map')) {
          const target = join(mapsDir, file.slice(outDir.length + 1));
          mkdirSync(dirname(target), { recursive: true });
          renameSync(file, target);
          continue;
        }
        if (!COMPRESSIBLE.test(file)) continue;
        const data = readFileSync(file);
        const br = brotliCompressSync(data, {
          params: { [zlib.BROTLI_PARAM_QUALITY]: zlib.BROTLI_MAX_QUALITY, [zlib.BROTLI_PARAM_MODE]: zlib.BROTLI_MODE_TEXT, [zlib.BROTLI_PARAM_SIZE_HINT]: data.length },
        });
        const gz = gzipSync(data, { level: zlib.Z_BEST_COMPRESSION });
        if (br.length < data.length) writeFileSync(`${file}.br`, br);
        if (gz.length < data.length) writeFileSync(`${file}.gz`, gz);
      }
    },
  };
}

export default defineConfig({
  root: 'src/web',
  base: '/',
  plugins: [
    react(),
    // The service worker (src/web/sw/sw.ts): Workbox precaches the build so the app shell loads
    // offline; we register it ourselves (src/web/lib/service-worker.ts) and keep our own manifest.
    VitePWA({
      strategies: 'injectManifest',
      srcDir: 'sw',
      filename: 'sw.ts',
      injectRegister: false,
      manifest: false,
      injectManifest: {
        globPatterns: ['**/*.{js,css,html,svg,png,webmanifest}'],
        rollupFormat: 'iife',
        sourcemap: false,
      },
    }),
    precompressAndHideSourceMaps(),
  ],
  build: {
    outDir: '../../dist/web',
    emptyOutDir: true,
    target: 'es2022',
    // Maps for developers (dist/web-sourcemaps), without a sourceMappingURL comment in the served JS.
    sourcemap: 'hidden',
    // Keep every asset a file: data: URLs would be fine for images but not worth a CSP exception elsewhere.
    assetsInlineLimit: 0,
  },
  // `npx vite` serves the client with hot reload against a running server (npm start).
  server: {
    proxy: {
      '/api/v1/stream': { target: devApi.replace(/^http/, 'ws'), ws: true },
      '/api': { target: devApi, changeOrigin: false },
    },
  },
});
