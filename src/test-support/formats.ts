/**
 * Helpers for the webhook-format tests (issue 15): the payload fixtures in test/fixtures/formats,
 * and a stand-in for Amazon SNS — a test CA, a loopback HTTPS server that serves the signing
 * certificate and answers SubscribeURL, and a signer for SNS messages.
 */
import { execFileSync } from 'node:child_process';
import { createSign } from 'node:crypto';
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type SnsMessage, stringToSign } from '../server/webhooks/formats/sns/verify.js';
import type { FormatName } from '../server/webhooks/formats/types.js';
import { fixturePath } from './shared-dir.js';

export interface FormatFixture {
  format: FormatName;
  /** The file name without .json. */
  name: string;
  description: string;
  source: string;
  headers?: Record<string, string>;
  body?: Record<string, unknown>;
  bodyText?: string;
  expect: { Content?: string; Key?: string; Note?: string; status?: number; Code?: string; slack?: string };
}

export function loadFormatFixtures(format: FormatName): FormatFixture[] {
  const dir = fixturePath('formats', format);
  return readdirSync(dir)
    .filter((f) => f.endsWith('.json'))
    .sort()
    .map((f) => ({ format, name: f.replace(/\.json$/, ''), ...(JSON.parse(readFileSync(join(dir, f), 'utf8')) as Omit<FormatFixture, 'format' | 'name'>) }));
}

/** The body bytes of a fixture. */
export function fixtureBody(f: Pick<FormatFixture, 'body' | 'bodyText'>): Buffer {
  return Buffer.from(f.bodyText ?? JSON.stringify(f.body), 'utf8');
}

function openssl(args: string[], cwd: string): void {
  execFileSync('openssl', args, { cwd, stdio: 'ignore' });
}

export interface FakeSns {
  /** host:port of the loopback HTTPS server. */
  host: string;
  /** The test CA (PEM), to trust for that host. */
  ca: string;
  certUrl: string;
  /** Requests the server received (path and query). */
  requests: string[];
  /** What GET /confirm answers (default 200). */
  confirmStatus: number;
  /** Signs a message as SNS would (Signature; SigningCertURL when empty). */
  sign<T extends object>(m: T, version?: '1' | '2'): T;
  close(): Promise<void>;
}

/**
 * A loopback HTTPS server standing in for sns.<region>.amazonaws.com: its certificate is issued by
 * a test CA (for 127.0.0.1), it serves the signing certificate at /cert.pem (other paths that end
 * in .pem: 404), and answers /confirm (a SubscribeURL) with confirmStatus.
 */
export async function startFakeSns(): Promise<FakeSns> {
  const dir = mkdtempSync(join(tmpdir(), 'carillon-sns-'));
  try {
    openssl(['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-subj', '/CN=Carillon test CA', '-days', '2', '-keyout', 'ca.key', '-out', 'ca.pem'], dir);
    writeFileSync(join(dir, 'ext.cnf'), 'subjectAltName=IP:127.0.0.1\n');
    openssl(['req', '-newkey', 'rsa:2048', '-nodes', '-subj', '/CN=127.0.0.1', '-keyout', 'server.key', '-out', 'server.csr'], dir);
    openssl(['x509', '-req', '-in', 'server.csr', '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial', '-days', '2', '-extfile', 'ext.cnf', '-out', 'server.pem'], dir);
    // The signing certificate, as SNS publishes it (self-signed here: only its key matters).
    openssl(['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-subj', '/CN=sns.amazonaws.com', '-days', '2', '-keyout', 'signing.key', '-out', 'signing.pem'], dir);
    const read = (f: string) => readFileSync(join(dir, f), 'utf8');
    const ca = read('ca.pem');
    const signingKey = read('signing.key');
    const signingCert = read('signing.pem');
    const requests: string[] = [];
    const state = { confirmStatus: 200 };
    const server = https.createServer({ key: read('server.key'), cert: read('server.pem') }, (req, res) => {
      requests.push(req.url ?? '');
      const path = (req.url ?? '').split('?')[0];
      if (path === '/cert.pem') {
        res.writeHead(200, { 'content-type': 'application/x-x509-ca-cert' }).end(signingCert);
      } else if (path === '/confirm') {
        res.writeHead(state.confirmStatus, { 'content-type': 'text/xml' }).end('<ConfirmSubscriptionResponse><ConfirmSubscriptionResult><SubscriptionArn>arn:aws:sns:us-east-1:123456789012:carillon-alerts:1</SubscriptionArn></ConfirmSubscriptionResult></ConfirmSubscriptionResponse>');
      } else if (path === '/redirect.pem') {
        res.writeHead(302, { location: '/cert.pem' }).end();
      } else if (path === '/huge.pem') {
        res.writeHead(200).end(Buffer.alloc(200 * 1024, 65));
      } else if (path === '/slow.pem') {
        // Never answers (until the server closes).
      } else {
        res.writeHead(404).end('not found');
      }
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const host = `127.0.0.1:${(server.address() as AddressInfo).port}`;
    const certUrl = `https://${host}/cert.pem`;
    return {
      host,
      ca,
      certUrl,
      requests,
      get confirmStatus() {
        return state.confirmStatus;
      },
      set confirmStatus(s: number) {
        state.confirmStatus = s;
      },
      sign<T extends object>(m: T, version: '1' | '2' = '1'): T {
        const out: Record<string, unknown> = { ...m, SignatureVersion: version };
        out.SigningCertURL ||= certUrl;
        const signer = createSign(version === '1' ? 'RSA-SHA1' : 'RSA-SHA256');
        signer.update(stringToSign(out as unknown as SnsMessage), 'utf8');
        out.Signature = signer.sign(signingKey, 'base64');
        return out as T;
      },
      close: async () => {
        server.closeAllConnections();
        await new Promise<void>((resolve) => server.close(() => resolve()));
        rmSync(dir, { recursive: true, force: true });
      },
    };
  } catch (e) {
    rmSync(dir, { recursive: true, force: true });
    throw e;
  }
}
