/** `/incomingwebhooks/{id}/grafana`: Grafana alerting's webhook contact point. */
import { type Format, parseJsonObject } from '../types.js';
import { translateGrafana } from './translate.js';

/** Like Alertmanager's, a group of many alerts (with values and links) runs past 64 KiB: 1 MiB. */
export const GRAFANA_BODY_LIMIT = 1024 * 1024;

export const grafanaFormat = (): Format => ({
  name: 'grafana',
  title: 'Grafana',
  bodyLimit: GRAFANA_BODY_LIMIT,
  translate: (req) => translateGrafana(parseJsonObject(req.body, 'Grafana notification')),
});
