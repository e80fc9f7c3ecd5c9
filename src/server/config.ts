/**
 * Carillon's configuration (SPEC 9): environment variables and the same options as `--flags`
 * (a flag wins over the environment). Parsed once at start; every problem is reported together;
 * the result is frozen and passed down, never read from a global.
 */
import { resolve } from 'node:path';
import { parseEndpointRule } from './push/endpoint-policy.js';

export interface Config {
  readonly port: number;
  readonly host: string;
  /** Origin (and optional path) that webhook URLs and links are built from, without trailing slash. */
  readonly publicUrl: string;
  /** Whether PUBLIC_URL was given; false means publicUrl is the default http://localhost:PORT. */
  readonly publicUrlSet: boolean;
  readonly dataDir: string;
  /** postgres://… selects PostgreSQL; unset means embedded SQLite in dataDir. */
  readonly databaseUrl: string | undefined;
  readonly redisUrl: string | undefined;
  readonly logLevel: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';
  readonly secret: string | undefined;
  readonly secretFile: string | undefined;
  readonly tlsCertFile: string | undefined;
  readonly tlsKeyFile: string | undefined;
  readonly httpsPort: number;
  readonly webhookRatePerSecond: number;
  readonly webhookBurst: number;
  /** The highest ratePerSecond a room administrator may give one webhook (issue 15). */
  readonly webhookMaxRatePerSecond: number;
  /** The highest burst a room administrator may give one webhook (issue 15). */
  readonly webhookMaxBurst: number;
  /** The VAPID `sub` of Web Push requests (RFC 8292): mailto: or https:, so push services can reach the operator. */
  readonly pushSubject: string;
  /** Push services allowed beyond the browsers' own (push/endpoint-policy.ts says the entry forms). */
  readonly pushEndpointHosts: readonly string[];
}

type Kind = 'port' | 'string' | 'url' | 'positiveNumber' | 'positiveInt' | 'logLevel' | 'dbUrl' | 'redisUrl' | 'pushSubject' | 'hostList';

interface OptionSpec {
  key: keyof Config;
  env: string;
  flag: string;
  kind: Kind;
  help: string;
}

/** The one table of options: used for parsing, `--help` and the README. */
export const OPTIONS: readonly OptionSpec[] = [
  { key: 'port', env: 'PORT', flag: '--port', kind: 'port', help: 'HTTP port (default 8080)' },
  { key: 'host', env: 'HOST', flag: '--host', kind: 'string', help: 'address to listen on (default 0.0.0.0)' },
  { key: 'publicUrl', env: 'PUBLIC_URL', flag: '--public-url', kind: 'url', help: 'public base URL used in webhook URLs (default http://localhost:PORT)' },
  { key: 'dataDir', env: 'DATA_DIR', flag: '--data-dir', kind: 'string', help: 'data directory: SQLite database and server secret (default ./data)' },
  { key: 'databaseUrl', env: 'DATABASE_URL', flag: '--database-url', kind: 'dbUrl', help: 'postgres://… to use PostgreSQL instead of SQLite' },
  { key: 'redisUrl', env: 'REDIS_URL', flag: '--redis-url', kind: 'redisUrl', help: 'redis://… for multi-node mode' },
  { key: 'logLevel', env: 'LOG_LEVEL', flag: '--log-level', kind: 'logLevel', help: 'fatal|error|warn|info|debug|trace|silent (default info)' },
  { key: 'secret', env: 'SECRET', flag: '--secret', kind: 'string', help: 'server secret (at least 32 characters); default: generated into DATA_DIR/secret' },
  { key: 'secretFile', env: 'SECRET_FILE', flag: '--secret-file', kind: 'string', help: 'file holding the server secret' },
  { key: 'tlsCertFile', env: 'TLS_CERT_FILE', flag: '--tls-cert-file', kind: 'string', help: 'PEM certificate: also serve HTTPS on HTTPS_PORT' },
  { key: 'tlsKeyFile', env: 'TLS_KEY_FILE', flag: '--tls-key-file', kind: 'string', help: 'PEM private key for TLS_CERT_FILE' },
  { key: 'httpsPort', env: 'HTTPS_PORT', flag: '--https-port', kind: 'port', help: 'HTTPS port (default 8443)' },
  { key: 'webhookRatePerSecond', env: 'WEBHOOK_RATE_PER_SECOND', flag: '--webhook-rate-per-second', kind: 'positiveNumber', help: 'webhook posts refilled per second, per webhook (default 1)' },
  { key: 'webhookBurst', env: 'WEBHOOK_BURST', flag: '--webhook-burst', kind: 'positiveInt', help: 'webhook token-bucket capacity (default 1)' },
  { key: 'webhookMaxRatePerSecond', env: 'WEBHOOK_MAX_RATE_PER_SECOND', flag: '--webhook-max-rate-per-second', kind: 'positiveNumber', help: 'highest rate a room administrator may give one webhook (default 10)' },
  { key: 'webhookMaxBurst', env: 'WEBHOOK_MAX_BURST', flag: '--webhook-max-burst', kind: 'positiveInt', help: 'highest burst a room administrator may give one webhook (default 20)' },
  { key: 'pushSubject', env: 'PUSH_SUBJECT', flag: '--push-subject', kind: 'pushSubject', help: 'Web Push contact (VAPID sub): mailto:you@example.com or an https:// URL (default PUBLIC_URL if https, else mailto:postmaster@<its host>)' },
  { key: 'pushEndpointHosts', env: 'PUSH_ENDPOINT_HOSTS', flag: '--push-endpoint-hosts', kind: 'hostList', help: 'more Web Push services to allow, comma-separated: host, *.domain or http(s)://host:port (the browsers\' own are always allowed)' },
];

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

/**
 * Reads `--flag value` / `--flag=value` pairs for the known options. Returns the remaining
 * arguments untouched (sub-command words and their own flags).
 */
export function extractConfigFlags(argv: readonly string[]): { values: Map<string, string>; rest: string[]; problems: string[] } {
  const byFlag = new Map(OPTIONS.map((o) => [o.flag, o]));
  const values = new Map<string, string>();
  const rest: string[] = [];
  const problems: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    const eq = arg.indexOf('=');
    const name = eq > 0 ? arg.slice(0, eq) : arg;
    const opt = byFlag.get(name);
    if (!opt) {
      rest.push(arg);
      continue;
    }
    let value: string | undefined;
    if (eq > 0) value = arg.slice(eq + 1);
    else if (i + 1 < argv.length) value = argv[++i];
    if (value === undefined) problems.push(`${opt.flag} needs a value (${opt.help})`);
    else values.set(opt.env, value);
  }
  return { values, rest, problems };
}

function parseValue(opt: OptionSpec, raw: string, problems: string[]): unknown {
  const where = `${opt.env} (${opt.flag})`;
  switch (opt.kind) {
    case 'port': {
      const n = Number(raw);
      if (!/^\d+$/.test(raw) || n < 0 || n > 65535) problems.push(`${where} must be a port number 0-65535, got "${raw}"`);
      return n;
    }
    case 'positiveNumber': {
      const n = Number(raw);
      if (raw.trim() === '' || !Number.isFinite(n) || n <= 0) problems.push(`${where} must be a number above 0, got "${raw}"`);
      return n;
    }
    case 'positiveInt': {
      const n = Number(raw);
      if (!/^\d+$/.test(raw) || n < 1) problems.push(`${where} must be a whole number of at least 1, got "${raw}"`);
      return n;
    }
    case 'logLevel':
      if (!(LOG_LEVELS as readonly string[]).includes(raw)) problems.push(`${where} must be one of ${LOG_LEVELS.join(', ')}, got "${raw}"`);
      return raw;
    case 'url': {
      let u: URL | undefined;
      try {
        u = new URL(raw);
      } catch {
        /* reported below */
      }
      if (!u || (u.protocol !== 'http:' && u.protocol !== 'https:') || u.search || u.hash) {
        problems.push(`${where} must be an http:// or https:// URL without query or fragment, e.g. https://chat.example.com, got "${raw}"`);
        return raw;
      }
      return u.href.replace(/\/+$/, '');
    }
    case 'dbUrl':
      if (!/^postgres(ql)?:\/\//.test(raw)) problems.push(`${where} must be a postgres:// URL (leave it unset for the embedded SQLite database), got "${redactUrlPassword(raw)}"`);
      return raw;
    case 'redisUrl':
      if (!/^rediss?:\/\//.test(raw)) problems.push(`${where} must be a redis:// or rediss:// URL, got "${redactUrlPassword(raw)}"`);
      return raw;
    case 'string':
      if (raw === '') problems.push(`${where} must not be empty`);
      return raw;
    case 'pushSubject':
      if (!/^mailto:[^@\s]+@[^@\s]+$/.test(raw) && !/^https:\/\/[^\s/]+/.test(raw)) {
        problems.push(`${where} must be mailto:you@example.com or an https:// URL where push services can reach the operator, got "${raw}"`);
      }
      return raw;
    case 'hostList': {
      const entries = raw.split(',').map((e) => e.trim()).filter((e) => e !== '');
      for (const entry of entries) {
        const rule = parseEndpointRule(entry);
        if (typeof rule === 'string') problems.push(`${where}: ${rule}`);
      }
      return entries;
    }
  }
}

/**
 * The VAPID contact when PUSH_SUBJECT is not set: PUBLIC_URL when it is https (push services reach
 * the operator through the site), else a mailto: at its host (an http:// URL is not a valid `sub`).
 */
function defaultPushSubject(publicUrl: string): string {
  const u = new URL(publicUrl);
  return u.protocol === 'https:' ? publicUrl : `mailto:postmaster@${u.hostname}`;
}

/** Hides the password of a connection URL, for messages and logs. */
export function redactUrlPassword(raw: string): string {
  return raw.replace(/(\/\/[^:/@]*:)[^@/]*@/, '$1***@');
}

/**
 * Builds the configuration from the environment and flags. Throws ConfigError listing every
 * problem at once.
 */
export function loadConfig(env: NodeJS.ProcessEnv, argv: readonly string[] = []): { config: Config; rest: string[] } {
  const { values: flagValues, rest, problems } = extractConfigFlags(argv);
  const raw = (opt: OptionSpec): string | undefined => {
    const v = flagValues.get(opt.env) ?? env[opt.env];
    return v === undefined || v === '' ? undefined : v;
  };
  const parsed: Partial<Record<keyof Config, unknown>> = {};
  for (const opt of OPTIONS) {
    const v = raw(opt);
    if (v !== undefined) parsed[opt.key] = parseValue(opt, v, problems);
  }
  const port = (parsed.port as number | undefined) ?? 8080;
  if (parsed.secret !== undefined && parsed.secretFile !== undefined) problems.push('set either SECRET or SECRET_FILE, not both');
  if (typeof parsed.secret === 'string' && parsed.secret.length < 32) problems.push('SECRET (--secret) must be at least 32 characters; generate one with: openssl rand -base64 48');
  if ((parsed.tlsCertFile === undefined) !== (parsed.tlsKeyFile === undefined)) problems.push('TLS_CERT_FILE and TLS_KEY_FILE must be set together');
  if (parsed.redisUrl !== undefined && parsed.databaseUrl === undefined) {
    problems.push('REDIS_URL is for several nodes sharing one PostgreSQL database: set DATABASE_URL=postgres://… too (SQLite is for a single node)');
  }
  // The server's defaults must fit under the per-webhook maximums when a maximum is set; an unset
  // maximum rises to the default instead (an upgrade never turns a working setting into an error).
  if (typeof parsed.webhookMaxRatePerSecond === 'number' && ((parsed.webhookRatePerSecond as number | undefined) ?? 1) > parsed.webhookMaxRatePerSecond) {
    problems.push(`WEBHOOK_RATE_PER_SECOND (${(parsed.webhookRatePerSecond as number | undefined) ?? 1}) is above WEBHOOK_MAX_RATE_PER_SECOND (${parsed.webhookMaxRatePerSecond}); raise the maximum or lower the default`);
  }
  if (typeof parsed.webhookMaxBurst === 'number' && ((parsed.webhookBurst as number | undefined) ?? 1) > parsed.webhookMaxBurst) {
    problems.push(`WEBHOOK_BURST (${(parsed.webhookBurst as number | undefined) ?? 1}) is above WEBHOOK_MAX_BURST (${parsed.webhookMaxBurst}); raise the maximum or lower the default`);
  }
  if (problems.length > 0) throw new ConfigError(problems);

  const publicUrl = (parsed.publicUrl as string | undefined) ?? `http://localhost:${port}`;
  const config: Config = {
    port,
    host: (parsed.host as string | undefined) ?? '0.0.0.0',
    publicUrl,
    publicUrlSet: parsed.publicUrl !== undefined,
    dataDir: resolve((parsed.dataDir as string | undefined) ?? './data'),
    databaseUrl: parsed.databaseUrl as string | undefined,
    redisUrl: parsed.redisUrl as string | undefined,
    logLevel: (parsed.logLevel as Config['logLevel'] | undefined) ?? 'info',
    secret: parsed.secret as string | undefined,
    secretFile: parsed.secretFile as string | undefined,
    tlsCertFile: parsed.tlsCertFile as string | undefined,
    tlsKeyFile: parsed.tlsKeyFile as string | undefined,
    httpsPort: (parsed.httpsPort as number | undefined) ?? 8443,
    webhookRatePerSecond: (parsed.webhookRatePerSecond as number | undefined) ?? 1,
    webhookBurst: (parsed.webhookBurst as number | undefined) ?? 1,
    webhookMaxRatePerSecond: (parsed.webhookMaxRatePerSecond as number | undefined) ?? Math.max(10, (parsed.webhookRatePerSecond as number | undefined) ?? 1),
    webhookMaxBurst: (parsed.webhookMaxBurst as number | undefined) ?? Math.max(20, (parsed.webhookBurst as number | undefined) ?? 1),
    pushSubject: (parsed.pushSubject as string | undefined) ?? defaultPushSubject(publicUrl),
    pushEndpointHosts: Object.freeze((parsed.pushEndpointHosts as string[] | undefined) ?? []),
  };
  return { config: Object.freeze(config), rest };
}

/** Text for `--help`: one line per option. */
export function optionsHelp(): string {
  return OPTIONS.map((o) => `  ${`${o.flag} <value>`.padEnd(34)} ${o.env.padEnd(24)} ${o.help}`).join('\n');
}
