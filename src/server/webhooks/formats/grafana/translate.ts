/**
 * Grafana alerting's webhook contact point → one `/md` message per alert group (issue 15,
 * docs/formats.md#grafana).
 *
 * The payload (Grafana's "Configure webhook notifications"): Alertmanager's shape (`receiver`,
 * `status` firing|resolved, `alerts[]`, `groupLabels`, `commonLabels`, `commonAnnotations`,
 * `externalURL`, `groupKey`, `truncatedAlerts`) with `version` "1", `orgId`, `title`, `state`,
 * `message`, and per alert `fingerprint`, `silenceURL`, `dashboardURL`, `panelURL`, `values`,
 * `valueString` and `imageURL`. Grafana's own `title` (templated in the contact point) heads the
 * message; the alerts are listed like Alertmanager's.
 *
 * Key: `grafana/<groupKey>`, or when a payload has none, the sorted fingerprints of its alerts, so
 * "resolved" updates the "firing" message. The legacy (before Grafana 8) payload, with `ruleId`,
 * `ruleName`, `state` and `evalMatches`, is understood too: keyed by its rule.
 */
import { FIRING_ICON, RESOLVED_ICON, type Alert, alertLine, alertSections, alertsOf, commonOf, stringMap } from '../alerts.js';
import { inline, isHttpUrl, link, mdMessage, messageKey, str } from '../markdown.js';
import { type Outcome, arr, invalidPayload, obj } from '../types.js';

/** `values` ({"B": 95.2}) as "B=95.2, C=1". */
function values(a: Alert): string {
  const v = obj(a.raw.values);
  if (!v) return '';
  return Object.keys(v)
    .sort()
    .map((k) => inline(`${k}=${typeof v[k] === 'number' ? Number((v[k] as number).toPrecision(6)) : str(v[k])}`))
    .join(', ');
}

function grafanaAlertLine(a: Alert, common: Record<string, string>, resolved: boolean): string {
  // Grafana's own labels (__alert_rule_uid__, grafana_folder) say nothing a reader needs.
  const skip = new Set(['alertname', 'grafana_folder', ...Object.keys(a.labels).filter((k) => k.startsWith('__'))]);
  const links = [
    isHttpUrl(a.raw.dashboardURL) ? link('dashboard', a.raw.dashboardURL) : '',
    isHttpUrl(a.raw.panelURL) ? link('panel', a.raw.panelURL) : '',
    !resolved && a.status !== 'resolved' && isHttpUrl(a.raw.silenceURL) ? link('silence', a.raw.silenceURL) : '',
  ];
  let line = alertLine(a, common, { facts: [values(a)], links, skip });
  if (isHttpUrl(a.raw.imageURL)) line += `\n\n  ![${inline(a.labels.alertname ?? 'graph')}](${str(a.raw.imageURL).replace(/[\s()]/g, encodeURIComponent)})`;
  return line;
}

function unified(p: Record<string, unknown>): Outcome {
  const alerts = alertsOf(p.alerts);
  const status = str(p.status) || (alerts.some((a) => a.status !== 'resolved') ? 'firing' : 'resolved');
  const resolved = status === 'resolved';
  const groupLabels = stringMap(p.groupLabels);
  const commonLabels = stringMap(p.commonLabels);
  const firing = alerts.filter((a) => a.status !== 'resolved').length;
  const name = groupLabels.alertname ?? commonLabels.alertname ?? 'Grafana alert';
  const title = str(p.title).trim();
  const fallback = `${resolved ? 'RESOLVED' : `FIRING:${firing}`}: ${name}`;
  const header = `${resolved ? RESOLVED_ICON : FIRING_ICON} **${inline(title || fallback)}**`;
  const common = commonOf(alerts, commonLabels, groupLabels);
  const sections = alertSections(alerts, (a) => grafanaAlertLine(a, common, resolved), Number(p.truncatedAlerts) || 0);
  const external = str(p.externalURL);
  const footer = isHttpUrl(external) ? link('Grafana', external) : '';
  const body = [header, ...sections, footer].filter((s) => s !== '').join('\n\n');
  const identity = str(p.groupKey) || alerts.map((a) => a.fingerprint).filter(Boolean).sort().join(',');
  return { kind: 'post', content: mdMessage(body), ...(identity ? { key: messageKey('grafana', identity) } : {}) };
}

/** Legacy alerting (Grafana 7 and earlier, or legacy alerting kept on): one rule, state alerting|ok|no_data|paused|pending. */
function legacy(p: Record<string, unknown>): Outcome {
  const state = str(p.state);
  const ok = state === 'ok';
  const icon = ok ? RESOLVED_ICON : state === 'alerting' ? FIRING_ICON : state === 'no_data' ? ':grey_question:' : ':information_source:';
  const title = str(p.title) || `[${state}] ${str(p.ruleName)}`;
  const lines = [`${icon} **${isHttpUrl(p.ruleUrl) ? link(title, p.ruleUrl) : inline(title)}**`];
  const message = str(p.message);
  if (message) lines.push(inline(message, { mentions: true }));
  const matches = arr(p.evalMatches)
    .map(obj)
    .filter((m): m is Record<string, unknown> => m !== undefined)
    .slice(0, 25)
    .map((m) => `- ${inline(`${str(m.metric)}=${str(m.value)}`)}`);
  const parts = [lines.join('\n'), matches.join('\n')];
  if (isHttpUrl(p.imageUrl)) parts.push(`![graph](${str(p.imageUrl).replace(/[\s()]/g, encodeURIComponent)})`);
  const body = parts.filter((s) => s !== '').join('\n\n');
  const rule = str(p.ruleId) || str(p.ruleName);
  return { kind: 'post', content: mdMessage(body), ...(rule ? { key: messageKey('grafana', `rule/${str(p.orgId) || '1'}/${rule}`) } : {}) };
}

export function translateGrafana(p: Record<string, unknown>): Outcome {
  if (Array.isArray(p.alerts)) return unified(p);
  if (p.ruleId !== undefined || p.ruleName !== undefined || p.evalMatches !== undefined) return legacy(p);
  throw invalidPayload("This is not a Grafana alert notification: it has no 'alerts' array. Add this URL to a Grafana webhook contact point (docs/formats.md).");
}
