/**
 * One webhook's page inside Manage webhooks (issue 15): Send test message, the Delivery log (the
 * last 100 attempts, each linked to the message it stored), its Settings (rate, burst, @All and
 * @Present), and the URLs of the other formats it accepts with GitHub's signing secret.
 */
import { type FormEvent, type MouseEvent, useCallback, useEffect, useId, useRef, useState } from 'react';
import { type Delivery, type WebhookInfo, api, errorMessage } from '../lib/api';
import { copyText } from '../lib/clipboard';
import { fullDate } from '../lib/format';
import { SENDER_FORMATS, deliveryFormatLabel, formatBytes, formatLatency, formatUrl, logTime, untilTime } from '../lib/webhook-ops';
import { FormError } from './AuthScreens';
import { BackIcon, CheckIcon, CopyIcon, RefreshIcon, SendIcon, WarningIcon } from './icons';

interface Props {
  roomId: string;
  webhook: WebhookInfo;
  onBack(): void;
  /** The server answered a new state of the webhook (settings saved). */
  onUpdated(webhook: WebhookInfo): void;
  /** Opens the room at a message (closes the dialog). */
  onOpenMessage(roomId: string, seq: number): void;
}

/** How many messages' seqs are looked up at once. */
const SEQ_LOOKUPS_AT_ONCE = 4;

export function failingText(f: NonNullable<WebhookInfo['failing']>): string {
  return `Failed ${f.failures} times since ${logTime(f.since, Date.now())} (last: ${f.lastStatus} ${f.lastCode}).`;
}

export function WebhookDetails({ roomId, webhook: w, onBack, onUpdated, onOpenMessage }: Props) {
  const headingId = useId();
  const logHeadingId = useId();
  const [deliveries, setDeliveries] = useState<Delivery[] | null>(null);
  const [logError, setLogError] = useState<string | null>(null);
  const [loadingLog, setLoadingLog] = useState(false);
  /** messageId → its seq (null: not found, no link). */
  const [seqs, setSeqs] = useState<ReadonlyMap<string, number | null>>(new Map());
  const asked = useRef(new Set<string>());
  const [testing, setTesting] = useState(false);
  const [testResult, setTestResult] = useState<{ ok: boolean; text: string } | null>(null);
  const [testError, setTestError] = useState<string | null>(null);
  const [copied, setCopied] = useState<string | null>(null);
  const [copyError, setCopyError] = useState<string | null>(null);
  const copiedTimer = useRef<number | undefined>(undefined);
  const root = useRef<HTMLElement>(null);
  const alive = useRef(true);

  useEffect(() => {
    alive.current = true;
    return () => {
      alive.current = false;
      window.clearTimeout(copiedTimer.current);
    };
  }, []);

  /** Finds the seq of each message the log links to: the newest page in one request, the rest one by one. */
  const resolveSeqs = useCallback(
    async (list: Delivery[]) => {
      const wanted = [...new Set(list.map((d) => d.messageId).filter((id): id is string => id !== null && !asked.current.has(id)))];
      if (wanted.length === 0) return;
      for (const id of wanted) asked.current.add(id);
      const found = new Map<string, number | null>();
      try {
        const { messages } = await api.messages(roomId, { limit: 100 });
        for (const m of messages) if (wanted.includes(m.id)) found.set(m.id, m.seq);
      } catch {
        /* one by one below */
      }
      if (!alive.current) return;
      if (found.size > 0) setSeqs((s) => new Map([...s, ...found]));
      const rest = wanted.filter((id) => !found.has(id));
      let next = 0;
      const worker = async () => {
        while (next < rest.length && alive.current) {
          const id = rest[next++]!;
          let seq: number | null = null;
          try {
            seq = (await api.message(roomId, id)).message.seq;
          } catch {
            asked.current.delete(id);
          }
          if (alive.current) setSeqs((s) => new Map(s).set(id, seq));
        }
      };
      await Promise.all(Array.from({ length: Math.min(SEQ_LOOKUPS_AT_ONCE, rest.length) }, worker));
    },
    [roomId],
  );

  const loadLog = useCallback(async () => {
    setLoadingLog(true);
    setLogError(null);
    try {
      const { deliveries: list } = await api.webhookDeliveries(roomId, w.id);
      if (!alive.current) return;
      setDeliveries(list);
      void resolveSeqs(list);
    } catch (e) {
      if (alive.current) setLogError(errorMessage(e));
    } finally {
      if (alive.current) setLoadingLog(false);
    }
  }, [roomId, w.id, resolveSeqs]);

  useEffect(() => {
    void loadLog();
  }, [loadLog]);

  const sendTest = async () => {
    setTesting(true);
    setTestError(null);
    setTestResult(null);
    try {
      const { messageId, delivery } = await api.testWebhook(roomId, w.id);
      if (!alive.current) return;
      const ok = delivery.status >= 200 && delivery.status < 300 && messageId !== null;
      setTestResult({
        ok,
        text: ok
          ? `Test message posted (${delivery.status}). It is in the room, and in the log below.`
          : `The test post was refused: ${delivery.status}${delivery.code ? ` ${delivery.code}` : ''}.`,
      });
      setDeliveries((list) => [delivery, ...(list ?? []).filter((d) => d.id !== delivery.id)]);
      void resolveSeqs([delivery]);
      void loadLog();
    } catch (e) {
      if (alive.current) setTestError(errorMessage(e));
    } finally {
      if (alive.current) setTesting(false);
    }
  };

  const copy = async (key: string, text: string, button: HTMLElement) => {
    const ok = await copyText(text, button);
    window.clearTimeout(copiedTimer.current);
    if (ok) {
      setCopied(key);
      setCopyError(null);
      copiedTimer.current = window.setTimeout(() => setCopied(null), 4000);
    } else {
      setCopied(null);
      setCopyError('Could not copy automatically. Select the text in the box and copy it.');
      const input = root.current?.querySelector<HTMLInputElement>(`[data-copy-key="${key}"]`);
      input?.focus();
      input?.select();
    }
  };

  const openMessage = (e: MouseEvent, seq: number) => {
    // A plain click opens the room here; with a modifier the browser opens the link as it would.
    if (e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || e.altKey) return;
    e.preventDefault();
    onOpenMessage(roomId, seq);
  };

  const copyRow = (key: string, label: string, value: string, button: string) => (
    <div className="copy-row">
      <input
        className="webhook-url"
        readOnly
        value={value}
        aria-label={label}
        data-copy-key={key}
        onFocus={(e) => e.currentTarget.select()}
        spellCheck={false}
      />
      <button type="button" className="button button-compact" onClick={(e) => void copy(key, value, e.currentTarget)}>
        <CopyIcon />
        <span>{button}</span>
      </button>
      {copied === key ? (
        <span className="copied" role="status">
          <CheckIcon /> Copied
        </span>
      ) : null}
    </div>
  );

  const now = Date.now();
  const overlap = w.previousUrlValidUntil && w.previousUrlValidUntil > now ? w.previousUrlValidUntil : null;

  return (
    <section className="webhook-details" aria-labelledby={headingId} ref={root}>
      <div className="webhook-details-head">
        <button type="button" className="button button-compact" onClick={onBack}>
          <BackIcon />
          <span>Back to webhooks</span>
        </button>
        <h3 id={headingId} className="webhook-details-title">
          {w.name}
        </h3>
        {w.failing ? <FailingBadge failing={w.failing} /> : null}
      </div>
      {w.failing ? (
        <p className="webhook-failing-note" role="note">
          <WarningIcon /> {failingText(w.failing)} See the log below.
        </p>
      ) : null}
      {overlap ? <p className="webhook-overlap">Old URL works until {untilTime(overlap)}</p> : null}

      <section className="details-section" aria-labelledby={`${headingId}-test`}>
        <div className="details-section-head">
          <h4 id={`${headingId}-test`}>Try it</h4>
          <button type="button" className="button button-primary button-compact" onClick={() => void sendTest()} disabled={testing}>
            <SendIcon />
            <span>Send test message</span>
          </button>
        </div>
        <p className="field-hint">Posts “Test message from Carillon: this webhook works.” into the room through this webhook, like a script would.</p>
        {testResult ? (
          <p className={testResult.ok ? 'form-notice' : 'form-error'} role="status">
            {testResult.text}
          </p>
        ) : null}
        <FormError message={testError} />
      </section>

      <section className="details-section" aria-labelledby={logHeadingId}>
        <div className="details-section-head">
          <h4 id={logHeadingId}>Delivery log</h4>
          <button type="button" className="button button-compact" onClick={() => void loadLog()} disabled={loadingLog}>
            <RefreshIcon />
            <span>Refresh</span>
          </button>
        </div>
        <p className="field-hint">The last 100 posts to this webhook, newest first. Bodies and tokens are never kept.</p>
        <FormError message={logError} />
        {deliveries === null && !logError ? <p className="list-status">Loading the log…</p> : null}
        {deliveries !== null && deliveries.length === 0 ? <p className="webhooks-empty">No deliveries yet</p> : null}
        {deliveries !== null && deliveries.length > 0 ? (
          <div className="table-scroll">
            <table className="log-table" aria-labelledby={logHeadingId}>
              <thead>
                <tr>
                  <th scope="col">Time</th>
                  <th scope="col">Status</th>
                  <th scope="col">Code</th>
                  <th scope="col">Size</th>
                  <th scope="col">Latency</th>
                  <th scope="col">Format</th>
                  <th scope="col">Message</th>
                </tr>
              </thead>
              <tbody>
                {deliveries.map((d) => {
                  const seq = d.messageId ? seqs.get(d.messageId) : undefined;
                  const ok = d.status >= 200 && d.status < 300;
                  return (
                    <tr key={d.id} data-delivery-id={d.id}>
                      <td className="log-time">
                        <time dateTime={new Date(d.at).toISOString()} title={fullDate(d.at)}>
                          {logTime(d.at, now)}
                        </time>
                      </td>
                      <td>
                        <span className={`status-pill ${ok ? 'status-ok' : 'status-error'}`}>{d.status}</span>
                      </td>
                      <td className="log-code">{d.code ?? '—'}</td>
                      <td className="log-number">{formatBytes(d.bytes)}</td>
                      <td className="log-number">{formatLatency(d.latencyMs)}</td>
                      <td>{deliveryFormatLabel(d.format)}</td>
                      <td>
                        {d.messageId && typeof seq === 'number' ? (
                          <a href={`/rooms/${roomId}?seq=${seq}`} onClick={(e) => openMessage(e, seq)}>
                            View message
                          </a>
                        ) : d.messageId && seq === undefined ? (
                          <span className="log-muted">…</span>
                        ) : (
                          <span className="log-muted">—</span>
                        )}
                      </td>
                    </tr>
                  );
                })}
              </tbody>
            </table>
          </div>
        ) : null}
      </section>

      <SettingsForm roomId={roomId} webhook={w} onUpdated={onUpdated} />

      <section className="details-section" aria-labelledby={`${headingId}-formats`}>
        <div className="details-section-head">
          <h4 id={`${headingId}-formats`}>Other senders</h4>
        </div>
        <p className="field-hint">
          The same webhook accepts other tools’ formats at these URLs, with the same token, limits and @All rule. Share them like a password.
        </p>
        <FormError message={copyError} />
        <ul className="format-list">
          <li className="format-item">
            <span className="format-name">Chime</span>
            {copyRow('chime', `Chime URL of ${w.name}`, w.url, 'Copy webhook URL')}
            <span className="field-hint">Scripts, CI jobs and Lambda functions that post Amazon Chime’s {'{"Content": "…"}'}.</span>
          </li>
          {SENDER_FORMATS.map((f) => (
            <li key={f.path} className="format-item">
              <span className="format-name">{f.label}</span>
              {copyRow(f.path, `${f.label} URL of ${w.name}`, formatUrl(w.url, f.path), `Copy ${f.label} URL`)}
              <span className="field-hint">{f.hint}</span>
            </li>
          ))}
        </ul>
        {w.signingSecret ? (
          <div className="format-item format-secret">
            <span className="format-name">Signing secret</span>
            {copyRow('secret', `Signing secret of ${w.name}`, w.signingSecret, 'Copy signing secret')}
            <span className="field-hint">For GitHub: paste it as the webhook’s Secret, so each delivery is signed (X-Hub-Signature-256). Regenerate URL changes it.</span>
          </div>
        ) : null}
      </section>
    </section>
  );
}

export function FailingBadge({ failing }: { failing: NonNullable<WebhookInfo['failing']> }) {
  return (
    <span className="webhook-badge-failing" title={failingText(failing)}>
      <WarningIcon />
      <span>Failing</span>
    </span>
  );
}

function SettingsForm({ roomId, webhook: w, onUpdated }: { roomId: string; webhook: WebhookInfo; onUpdated(w: WebhookInfo): void }) {
  const id = useId();
  const [rate, setRate] = useState(w.settings ? String(w.settings.ratePerSecond) : '');
  const [burst, setBurst] = useState(w.settings ? String(w.settings.burst) : '');
  const [broadcast, setBroadcast] = useState(w.settings?.allowBroadcastMentions ?? true);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [saved, setSaved] = useState(false);
  const seeded = useRef(w.settings !== undefined);

  // The list may arrive (or refresh) after the page opened: fill the form once from the first settings seen.
  useEffect(() => {
    if (seeded.current || !w.settings) return;
    seeded.current = true;
    setRate(String(w.settings.ratePerSecond));
    setBurst(String(w.settings.burst));
    setBroadcast(w.settings.allowBroadcastMentions);
  }, [w.settings]);

  const num = (s: string): number => (s.trim() === '' ? Number.NaN : Number(s));

  const save = async (e: FormEvent) => {
    e.preventDefault();
    setBusy(true);
    setError(null);
    setSaved(false);
    try {
      const settings: { ratePerSecond?: number; burst?: number; allowBroadcastMentions: boolean } = { allowBroadcastMentions: broadcast };
      // Whatever was typed goes to the server, which says what is allowed (its maximums are its own).
      if (rate.trim() !== '') settings.ratePerSecond = num(rate);
      if (burst.trim() !== '') settings.burst = num(burst);
      const updated = await api.updateWebhookSettings(roomId, w.id, settings);
      if (updated?.settings) {
        setRate(String(updated.settings.ratePerSecond));
        setBurst(String(updated.settings.burst));
        setBroadcast(updated.settings.allowBroadcastMentions);
      }
      onUpdated({ ...w, ...updated });
      setSaved(true);
    } catch (err) {
      setError(errorMessage(err));
    } finally {
      setBusy(false);
    }
  };

  return (
    <section className="details-section" aria-labelledby={`${id}-h`}>
      <div className="details-section-head">
        <h4 id={`${id}-h`}>Settings</h4>
      </div>
      <form className="settings-form" onSubmit={(e) => void save(e)} noValidate>
        <div className="settings-grid">
          <div className="field">
            <label className="field-label" htmlFor={`${id}-rate`}>
              Posts per second
            </label>
            <input
              id={`${id}-rate`}
              type="number"
              inputMode="decimal"
              step="any"
              value={rate}
              onChange={(e) => {
                setRate(e.target.value);
                setSaved(false);
              }}
              aria-describedby={`${id}-rate-hint`}
            />
            <span className="field-hint" id={`${id}-rate-hint`}>
              Refilled per second; faster posts get 429 with Retry-After.
            </span>
          </div>
          <div className="field">
            <label className="field-label" htmlFor={`${id}-burst`}>
              Burst
            </label>
            <input
              id={`${id}-burst`}
              type="number"
              inputMode="numeric"
              step="1"
              value={burst}
              onChange={(e) => {
                setBurst(e.target.value);
                setSaved(false);
              }}
              aria-describedby={`${id}-burst-hint`}
            />
            <span className="field-hint" id={`${id}-burst-hint`}>
              Posts accepted at once before the rate applies.
            </span>
          </div>
        </div>
        <label className="checkbox">
          <input
            type="checkbox"
            checked={broadcast}
            onChange={(e) => {
              setBroadcast(e.target.checked);
              setSaved(false);
            }}
          />
          <span>Allow @All and @Present</span>
        </label>
        <FormError message={error} />
        {saved ? (
          <p className="form-notice" role="status">
            Settings saved. They apply to the next post.
          </p>
        ) : null}
        <div className="form-actions">
          <button type="submit" className="button button-primary" disabled={busy}>
            Save settings
          </button>
        </div>
      </form>
    </section>
  );
}
