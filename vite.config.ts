/**
 * Builds the web client (src/web) into dist/web, which the server serves at / (src/server/http/web-client.ts).
 * The output must run under a strict CSP (script-src 'self'; style-src 'self'): no inline script or style.
 */
import react from '@vitejs/plugin-react';
import { defineConfig } from 'vite';

const devApi = process.env.CARILLON_DEV_API ?? 'http://127.0.0.1:8080';

export default defineConfig({
  root: 'src/web',
  base: '/',
  plugins: [react()],
  build: {
    outDir: '../../dist/web',
    emptyOutDir: true,
    target: 'es2022',
    sourcemap: true,
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
