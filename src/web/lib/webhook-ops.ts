/**
 * Presentation helpers for webhook operations (issue 15): the other formats' URLs, the delivery
 * log's cells and the audit log's wording. Free of the DOM so they can be unit-tested.
 */
import type { AuditAction, DeliveryFormat } from './api';

/** The formats a webhook also accepts, each at its own path before `?token=`. */
export const SENDER_FORMATS = [
  { path: 'slack', label: 'Slack', hint: 'For tools that post Slack incoming-webhook JSON: text with mrkdwn, attachments and common blocks.' },
  { path: 'sns', label: 'SNS', hint: 'Subscribe it to an Amazon SNS topic (HTTPS protocol); CloudWatch alarms become readable messages.' },
  { path: 'alertmanager', label: 'Alertmanager', hint: 'A webhook_configs url in Alertmanager; a resolved alert updates its firing message.' },
  { path: 'grafana', label: 'Grafana', hint: 'A Grafana webhook contact point; a resolved alert updates its firing message.' },
  { path: 'github', label: 'GitHub', hint: 'A repository or organization webhook, content type application/json, with the signing secret below.' },
] as const;

export type SenderFormat = (typeof SENDER_FORMATS)[number]['path'];

/** The webhook URL with `/{format}` inserted before `?token=`. */
export function formatUrl(webhookUrl: string, format: SenderFormat): string {
  const q = webhookUrl.indexOf('?');
  const base = q === -1 ? webhookUrl : webhookUrl.slice(0, q);
  const query = q === -1 ? '' : webhookUrl.slice(q);
  return `${base.replace(/\/+$/, '')}/${format}${query}`;
}

const FORMAT_LABELS: Record<DeliveryFormat, string> = {
  chime: 'Chime',
  slack: 'Slack',
  sns: 'SNS',
  alertmanager: 'Alertmanager',
  grafana: 'Grafana',
  github: 'GitHub',
  test: 'Test',
};

export function deliveryFormatLabel(format: string): string {
  return FORMAT_LABELS[format as DeliveryFormat] ?? format;
}

/** "512 B", "1.5 KB", "64 KB". */
export function formatBytes(n: number): string {
  if (!Number.isFinite(n) || n < 0) return '—';
  if (n < 1024) return `${n} B`;
  const kb = n / 1024;
  return `${kb < 10 ? kb.toFixed(1).replace(/\.0$/, '') : Math.round(kb)} KB`;
}

export function formatLatency(ms: number): string {
  if (!Number.isFinite(ms) || ms < 0) return '—';
  return ms < 10 ? `${Math.round(ms * 10) / 10} ms` : `${Math.round(ms)} ms`;
}

/** A time in a log: the time alone today, with the date otherwise. */
export function logTime(ms: number, now: number, locale?: string): string {
  const d = new Date(ms);
  const today = new Date(now);
  const sameDay = d.getFullYear() === today.getFullYear() && d.getMonth() === today.getMonth() && d.getDate() === today.getDate();
  return sameDay
    ? d.toLocaleTimeString(locale, { hour: 'numeric', minute: '2-digit', second: '2-digit' })
    : d.toLocaleString(locale, { month: 'short', day: 'numeric', hour: 'numeric', minute: '2-digit' });
}

/** A moment in the future, with its date: "Dec 4, 2026, 3:15 PM". */
export function untilTime(ms: number, locale?: string): string {
  return new Date(ms).toLocaleString(locale, { dateStyle: 'medium', timeStyle: 'short' });
}

const ACTION_LABELS: Record<AuditAction, string> = {
  'webhook.created': 'Created',
  'webhook.renamed': 'Renamed',
  'webhook.regenerated': 'Regenerated URL',
  'webhook.deleted': 'Deleted',
  'webhook.settings': 'Changed settings',
};

export function auditActionLabel(action: string): string {
  return ACTION_LABELS[action as AuditAction] ?? action;
}

const KEY_LABELS: Record<string, string> = {
  name: 'name',
  from: 'from',
  to: 'to',
  oldName: 'old name',
  newName: 'new name',
  previousName: 'old name',
  previousUrlValidUntil: 'old URL works until',
  ratePerSecond: 'posts per second',
  burst: 'burst',
  allowBroadcastMentions: '@All and @Present',
  settings: 'settings',
};

function value(v: unknown): string {
  if (v === null || v === undefined) return '—';
  if (typeof v === 'boolean') return v ? 'allowed' : 'not allowed';
  if (typeof v === 'string') return `“${v}”`;
  if (typeof v === 'number') return String(v);
  return JSON.stringify(v);
}

function isFromTo(v: unknown): v is { from: unknown; to: unknown } {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && Object.keys(v).length === 2 && 'from' in v && 'to' in v;
}

/**
 * An audit entry's details as one line: `{from:"a", to:"b"}` → `“a” → “b”`, nested objects
 * flattened (`settings.burst: 1 → 5`), booleans said in words.
 */
export function auditDetails(details: unknown): string {
  if (typeof details !== 'object' || details === null) return details === undefined || details === null ? '' : value(details);
  if (isFromTo(details)) return `${value(details.from)} → ${value(details.to)}`;
  const parts: string[] = [];
  const walk = (obj: Record<string, unknown>, prefix: string[]) => {
    for (const [k, v] of Object.entries(obj)) {
      const label = [...prefix, KEY_LABELS[k] ?? k];
      if (k === 'keepOldUrlForHours' && typeof v === 'number') parts.push(v > 0 ? `old URL kept for ${v} hour${v === 1 ? '' : 's'}` : 'old URL stopped at once');
      else if (k === 'previousUrlValidUntil' && typeof v === 'number') parts.push(`${label.join(' ')}: ${untilTime(v)}`);
      else if (isFromTo(v)) parts.push(`${label.join(' ')}: ${value(v.from)} → ${value(v.to)}`);
      else if (typeof v === 'object' && v !== null && !Array.isArray(v)) walk(v as Record<string, unknown>, k === 'settings' || k === 'changes' ? prefix : label);
      else parts.push(`${label.join(' ')}: ${value(v)}`);
    }
  };
  walk(details as Record<string, unknown>, []);
  return parts.join(', ');
}
