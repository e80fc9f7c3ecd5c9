/** `/incomingwebhooks/{id}/alertmanager`: Prometheus Alertmanager's webhook receiver (webhook_config). */
import { type Format, parseJsonObject } from '../types.js';
import { translateAlertmanager } from './translate.js';

/**
 * A group of many alerts with their labels and annotations runs well past 64 KiB (Alertmanager's
 * own max_alerts is unlimited by default): 1 MiB, the API's body limit.
 */
export const ALERTMANAGER_BODY_LIMIT = 1024 * 1024;

export const alertmanagerFormat = (): Format => ({
  name: 'alertmanager',
  title: 'Alertmanager',
  bodyLimit: ALERTMANAGER_BODY_LIMIT,
  translate: (req) => translateAlertmanager(parseJsonObject(req.body, 'Alertmanager notification')),
});
