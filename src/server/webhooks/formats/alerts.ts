/**
 * What Alertmanager's and Grafana's notifications share: a group of alerts (Prometheus-style labels
 * and annotations, startsAt/endsAt, a link to their source) that fires and later resolves. Both
 * become one message per group, keyed by the group, so the "resolved" notification updates the
 * "firing" one in place (issue 14's keys).
 *
 * Annotations (summary, description) are written by the team's own alert rules: a `@name` in them
 * mentions that member, and `@All`/`@Present` obey the 50-member rule. Label values are data and
 * never mention anyone.
 */
import { type EscapeOptions, inline, isHttpUrl, link, str } from './markdown.js';
import { arr, obj } from './types.js';

export const ANNOTATION: EscapeOptions = { mentions: true };
export const LABEL: EscapeOptions = { mentions: false };

/** At most this many alerts are listed in one message (the rest are counted). */
export const MAX_LISTED_ALERTS = 25;

export interface Alert {
  status: string;
  labels: Record<string, string>;
  annotations: Record<string, string>;
  startsAt: string;
  endsAt: string;
  generatorURL: string;
  fingerprint: string;
  raw: Record<string, unknown>;
}

/** A string map (labels, annotations); other values are dropped. */
export function stringMap(v: unknown): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, value] of Object.entries(obj(v) ?? {})) {
    const s = str(value);
    if (s !== '') out[k] = s;
  }
  return out;
}

export function alertsOf(v: unknown): Alert[] {
  return arr(v)
    .map(obj)
    .filter((a): a is Record<string, unknown> => a !== undefined)
    .map((a) => ({
      status: str(a.status),
      labels: stringMap(a.labels),
      annotations: stringMap(a.annotations),
      startsAt: str(a.startsAt),
      endsAt: str(a.endsAt),
      generatorURL: str(a.generatorURL),
      fingerprint: str(a.fingerprint),
      raw: a,
    }));
}

/** An RFC 3339 time as "2026-12-04 10:02 UTC", or '' (Go's zero time, 0001-01-01, means "not yet"). */
export function time(iso: string): string {
  if (iso === '' || iso.startsWith('0001-')) return '';
  const t = Date.parse(iso);
  if (Number.isNaN(t)) return '';
  return `${new Date(t).toISOString().slice(0, 16).replace('T', ' ')} UTC`;
}

/** `k=v` pairs, sorted by name, as escaped text. */
export function labelList(labels: Record<string, string>, skip: ReadonlySet<string> = new Set()): string {
  return Object.keys(labels)
    .filter((k) => !skip.has(k))
    .sort()
    .map((k) => inline(`${k}=${labels[k]}`, LABEL))
    .join(', ');
}

/**
 * The labels that tell an alert apart: with several alerts, those not shared by the whole group;
 * with one, all but the group's own (which the header names).
 */
export function commonOf(alerts: readonly Alert[], commonLabels: Record<string, string>, groupLabels: Record<string, string>): Record<string, string> {
  return alerts.length === 1 ? groupLabels : commonLabels;
}

/** The labels an alert has beyond `common`. */
export function distinctLabels(alert: Alert, common: Record<string, string>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(alert.labels)) if (common[k] !== v) out[k] = v;
  return out;
}

export interface AlertLineExtras {
  /** More " · "-separated facts after the labels (e.g. Grafana's values). */
  facts?: string[];
  /** More links after the source and runbook (e.g. Grafana's dashboard, panel, silence). */
  links?: string[];
  /** Labels not to list (already said in the header). */
  skip?: ReadonlySet<string>;
}

/**
 * One alert as a list item: its summary (or name) in bold, the description, the labels that tell
 * it apart, since/until when, and links to its source and runbook.
 */
export function alertLine(alert: Alert, common: Record<string, string>, options: AlertLineExtras = {}): string {
  const name = alert.annotations.summary ?? alert.annotations.title ?? alert.labels.alertname ?? 'Alert';
  const pieces: string[] = [];
  const description = alert.annotations.description ?? alert.annotations.message;
  let head = `**${inline(name, ANNOTATION)}**`;
  if (description && description !== name) head += `: ${inline(description, ANNOTATION)}`;
  pieces.push(head);
  const labels = labelList(distinctLabels(alert, common), options.skip ?? new Set(['alertname']));
  if (labels) pieces.push(labels);
  pieces.push(...(options.facts ?? []).filter((e) => e !== ''));
  const resolved = alert.status === 'resolved';
  const when = resolved ? time(alert.endsAt) : time(alert.startsAt);
  if (when) pieces.push(`${resolved ? 'resolved' : 'since'} ${when}`);
  if (isHttpUrl(alert.generatorURL)) pieces.push(link('source', alert.generatorURL));
  const runbook = alert.annotations.runbook_url ?? alert.annotations.runbook;
  if (isHttpUrl(runbook)) pieces.push(link('runbook', runbook));
  pieces.push(...(options.links ?? []).filter((e) => e !== ''));
  return `- ${pieces.join(' · ')}`;
}

/** Firing alerts first, then resolved ones, each listed up to MAX_LISTED_ALERTS in all, then "…and N more". */
export function alertSections(alerts: Alert[], line: (a: Alert) => string, truncated = 0): string[] {
  const firing = alerts.filter((a) => a.status !== 'resolved');
  const resolved = alerts.filter((a) => a.status === 'resolved');
  const out: string[] = [];
  let listed = 0;
  const list = (group: Alert[]) => {
    const lines: string[] = [];
    for (const a of group) {
      if (listed >= MAX_LISTED_ALERTS) break;
      lines.push(line(a));
      listed++;
    }
    return lines.join('\n');
  };
  if (firing.length > 0) out.push(list(firing));
  if (resolved.length > 0 && listed < MAX_LISTED_ALERTS) {
    const l = list(resolved);
    // A firing group that also carries resolved alerts says which are which.
    out.push(firing.length > 0 ? `Resolved:\n${l}` : l);
  }
  const more = alerts.length - listed + truncated;
  if (more > 0) out.push(`…and ${more} more alert${more === 1 ? '' : 's'}${truncated > 0 ? ' (the sender truncated the list)' : ''}.`);
  return out.filter((s) => s !== '');
}

export const FIRING_ICON = ':fire:';
export const RESOLVED_ICON = ':white_check_mark:';
