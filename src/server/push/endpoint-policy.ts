/**
 * Which push endpoints the server will POST to. A subscription's endpoint is user-supplied, so an
 * open policy would let any user make the server send requests to any address (SSRF): only https
 * endpoints of the browsers' push services are accepted by default, and PUSH_ENDPOINT_HOSTS adds
 * more (a self-hosted push service, or a loopback endpoint in tests).
 *
 * An entry is one of:
 * - `host.example.com`: https on port 443, exactly this host;
 * - `*.example.com`: https on port 443, any host under example.com (not example.com itself);
 * - `https://host[:port]` or `http://host[:port]`: exactly this origin (the only way to allow
 *   plain http or another port, e.g. `http://127.0.0.1:9000` for a test endpoint).
 */

/** The push services of Chrome/Edge-on-Android/Opera/Samsung (FCM), Firefox, Safari and Edge (WNS). */
export const DEFAULT_PUSH_ENDPOINT_HOSTS: readonly string[] = Object.freeze([
  'fcm.googleapis.com',
  '*.push.services.mozilla.com',
  '*.push.apple.com',
  '*.notify.windows.com',
]);

/** Longest endpoint URL accepted (real ones are 150–500 characters). */
export const PUSH_ENDPOINT_MAX_CHARS = 2048;

type Rule = { kind: 'host'; host: string } | { kind: 'suffix'; suffix: string } | { kind: 'origin'; origin: string };

const HOST = /^(?=.{1,253}$)(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)*[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/;

/** Parses one entry; returns the problem as a sentence when it is not valid. */
export function parseEndpointRule(entry: string): Rule | string {
  const e = entry.trim().toLowerCase();
  if (e.startsWith('http://') || e.startsWith('https://')) {
    let u: URL;
    try {
      u = new URL(e);
    } catch {
      return `"${entry}" is not a valid origin (e.g. https://push.example.com or http://127.0.0.1:9000)`;
    }
    if (u.username || u.password || (u.pathname !== '/' && u.pathname !== '') || u.search || u.hash) {
      return `"${entry}" must be an origin only (scheme, host and optional port, no path), e.g. http://127.0.0.1:9000`;
    }
    return { kind: 'origin', origin: u.origin };
  }
  if (e.startsWith('*.')) {
    const rest = e.slice(2);
    if (!HOST.test(rest) || !rest.includes('.')) return `"${entry}" must be *. followed by a domain with at least two labels, e.g. *.push.example.com`;
    return { kind: 'suffix', suffix: `.${rest}` };
  }
  if (!HOST.test(e)) return `"${entry}" must be a host name (push.example.com), a wildcard (*.push.example.com) or an origin (https://host:port)`;
  return { kind: 'host', host: e };
}

export class EndpointPolicy {
  private readonly rules: Rule[];

  /** `extra` entries (PUSH_ENDPOINT_HOSTS, validated by config.ts) extend the defaults. */
  constructor(readonly extra: readonly string[] = []) {
    this.rules = [...DEFAULT_PUSH_ENDPOINT_HOSTS, ...extra].map((entry) => {
      const rule = parseEndpointRule(entry);
      if (typeof rule === 'string') throw new Error(`PUSH_ENDPOINT_HOSTS: ${rule}`);
      return rule;
    });
  }

  /** Every allowed entry, for error messages. */
  describe(): string {
    return [...DEFAULT_PUSH_ENDPOINT_HOSTS, ...this.extra].join(', ');
  }

  /** The endpoint as a URL when the server may POST to it; otherwise why not, as a sentence fragment. */
  check(endpoint: string): { ok: true; url: URL } | { ok: false; reason: string } {
    if (endpoint.length > PUSH_ENDPOINT_MAX_CHARS) return { ok: false, reason: `is longer than ${PUSH_ENDPOINT_MAX_CHARS} characters` };
    let url: URL;
    try {
      url = new URL(endpoint);
    } catch {
      return { ok: false, reason: 'is not an absolute URL' };
    }
    if (url.username || url.password) return { ok: false, reason: 'must not contain a user name or password' };
    if (url.hash) return { ok: false, reason: 'must not contain a #fragment' };
    const host = url.hostname;
    const allowed = this.rules.some((r) => {
      switch (r.kind) {
        case 'origin':
          return url.origin === r.origin;
        case 'host':
          return url.protocol === 'https:' && url.port === '' && host === r.host;
        case 'suffix':
          return url.protocol === 'https:' && url.port === '' && host.endsWith(r.suffix);
      }
    });
    return allowed ? { ok: true, url } : { ok: false, reason: 'is not on a known push service' };
  }
}
