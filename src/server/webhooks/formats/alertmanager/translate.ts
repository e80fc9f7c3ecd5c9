/**
 * Prometheus Alertmanager's webhook notification (webhook_config, payload version 4) → one `/md`
 * message per alert group (issue 15, docs/formats.md#alertmanager).
 *
 * The payload (Alertmanager's "webhook_config" documentation): `version` "4", `groupKey` (the
 * group's identity), `status` firing|resolved, `receiver`, `groupLabels`, `commonLabels`,
 * `commonAnnotations`, `externalURL`, `truncatedAlerts`, and `alerts[]` with `status`, `labels`,
 * `annotations`, `startsAt`, `endsAt`, `generatorURL`, `fingerprint`.
 *
 * Key: `alertmanager/<groupKey>` (a SHA-256 of it when longer than a key may be), so each later
 * notification of the group — more alerts firing, then "resolved" — updates the same message.
 */
import { FIRING_ICON, RESOLVED_ICON, alertLine, alertSections, alertsOf, commonOf, labelList, stringMap } from '../alerts.js';
import { inline, isHttpUrl, link, mdMessage, messageKey, str } from '../markdown.js';
import { type Outcome, invalidPayload } from '../types.js';

export function translateAlertmanager(p: Record<string, unknown>): Outcome {
  if (!Array.isArray(p.alerts)) {
    throw invalidPayload("This is not an Alertmanager webhook notification: it has no 'alerts' array. Point an Alertmanager webhook_config at this URL (docs/formats.md).");
  }
  const alerts = alertsOf(p.alerts);
  const status = str(p.status) || (alerts.some((a) => a.status !== 'resolved') ? 'firing' : 'resolved');
  const groupLabels = stringMap(p.groupLabels);
  const commonLabels = stringMap(p.commonLabels);
  const commonAnnotations = stringMap(p.commonAnnotations);
  const firing = alerts.filter((a) => a.status !== 'resolved').length;
  const resolved = status === 'resolved';

  const name = groupLabels.alertname ?? commonLabels.alertname ?? (alerts.length === 1 ? alerts[0]!.labels.alertname : undefined) ?? 'Alerts';
  const count = resolved ? alerts.length : firing;
  // Alertmanager's own default titles read "[FIRING:2] Name" and "[RESOLVED] Name".
  let header = `${resolved ? RESOLVED_ICON : FIRING_ICON} **${inline(`[${resolved ? 'RESOLVED' : `FIRING:${count}`}] ${name}`)}**`;
  const others = labelList(groupLabels, new Set(['alertname']));
  if (others) header += ` · ${others}`;
  const severity = commonLabels.severity;
  if (severity && !('severity' in groupLabels)) header += ` · ${inline(`severity=${severity}`)}`;
  const skip = new Set(['alertname', ...(severity ? ['severity'] : [])]);

  const lines = [header];
  // Annotations every alert shares are said once (when there are several alerts to list).
  if (alerts.length > 1 && (commonAnnotations.summary || commonAnnotations.description)) {
    lines.push(inline([commonAnnotations.summary, commonAnnotations.description].filter(Boolean).join(': '), { mentions: true }));
  }
  const common = commonOf(alerts, commonLabels, groupLabels);
  const sections = alertSections(alerts, (a) => alertLine(a, common, { skip }), Number(p.truncatedAlerts) || 0);

  const footer: string[] = [];
  const external = str(p.externalURL).replace(/\/+$/, '');
  if (isHttpUrl(external)) {
    footer.push(link('Alertmanager', external));
    if (!resolved && Object.keys(groupLabels).length > 0) {
      const filter = `{${Object.keys(groupLabels)
        .sort()
        .map((k) => `${k}="${groupLabels[k]!.replace(/["\\]/g, '\\$&')}"`)
        .join(',')}}`;
      footer.push(link('Silence', `${external}/#/silences/new?filter=${encodeURIComponent(filter)}`));
    }
  }
  const body = [lines.join('\n'), ...sections, footer.join(' · ')].filter((s) => s !== '').join('\n\n');
  const groupKey = str(p.groupKey) || alerts.map((a) => a.fingerprint).sort().join(',');
  return { kind: 'post', content: mdMessage(body), ...(groupKey ? { key: messageKey('alertmanager', groupKey) } : {}) };
}
