/**
 * Manage webhooks (SPEC 2.5, 7), for room administrators: New → Webhook name → Create; per row
 * Copy webhook URL, Details, Regenerate URL, Rename, Delete. Regenerate and Delete are confirmed
 * inside the dialog (the list steps aside, so each action has exactly one button at a time);
 * Regenerate can keep the old URL working for a while (issue 15). Details opens the webhook's own
 * page: test message, delivery log, settings, other formats (WebhookDetails.tsx).
 *
 * When PUBLIC_URL is not set, webhook URLs use the default http://localhost:PORT, which only the
 * server's own machine reaches: if this page was opened at another address, the dialog says so and
 * how to fix it (the list tells whether PUBLIC_URL was set).
 */
import { type FormEvent, type KeyboardEvent, useCallback, useEffect, useRef, useState } from 'react';
import { LIMITS } from '../../shared/limits';
import { type WebhookInfo, api, errorMessage } from '../lib/api';
import { copyText } from '../lib/clipboard';
import { untilTime } from '../lib/webhook-ops';
import { FormError } from './AuthScreens';
import { CheckIcon, CopyIcon, PlusIcon, WebhookIcon } from './icons';
import { Modal } from './Modal';
import { FailingBadge, WebhookDetails } from './WebhookDetails';

interface Props {
  roomId: string;
  roomName: string;
  onClose(): void;
  /** The roster shows webhooks: refresh it after a change. */
  onChanged(): void;
  /** Opens the room at a message (a delivery's "View message"). */
  onOpenMessage(roomId: string, seq: number): void;
  /** A webhook to point at when the dialog opens (the failure notice's "Open Manage webhooks"). */
  highlightId?: string | null;
}

type Confirming = { kind: 'regenerate' | 'delete'; webhook: WebhookInfo } | null;

/** "Keep the old URL working for" choices, in hours (0: Chime's immediate 404). */
const OVERLAP_CHOICES: { hours: number; label: string }[] = [
  { hours: 0, label: 'Not at all' },
  { hours: 1, label: '1 hour' },
  { hours: 6, label: '6 hours' },
  { hours: 24, label: '24 hours' },
];

/** The base of the webhook URLs when it is the unset default and this page is somewhere else; null otherwise. */
function defaultPublicUrlElsewhere(publicUrl: string | undefined, publicUrlSet: boolean | undefined): string | null {
  if (publicUrl === undefined || publicUrlSet !== false) return null;
  try {
    return new URL(publicUrl).origin === window.location.origin ? null : publicUrl;
  } catch {
    return null;
  }
}

function byName(a: WebhookInfo, b: WebhookInfo): number {
  return a.name.localeCompare(b.name, undefined, { sensitivity: 'base' });
}

export function ManageWebhooksDialog({ roomId, roomName, onClose, onChanged, onOpenMessage, highlightId = null }: Props) {
  const [webhooks, setWebhooks] = useState<WebhookInfo[] | null>(null);
  const [localhostUrl, setLocalhostUrl] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [notice, setNotice] = useState<string | null>(null);
  const [creating, setCreating] = useState(false);
  const [newName, setNewName] = useState('');
  const [renaming, setRenaming] = useState<{ id: string; value: string } | null>(null);
  const [confirming, setConfirming] = useState<Confirming>(null);
  const [copied, setCopied] = useState<string | null>(null);
  const [highlight, setHighlight] = useState<string | null>(highlightId);
  const [details, setDetails] = useState<string | null>(null);
  const [keepHours, setKeepHours] = useState(0);
  const [busy, setBusy] = useState(false);
  const copiedTimer = useRef<number | undefined>(undefined);
  const listRef = useRef<HTMLDivElement>(null);

  const load = useCallback(async () => {
    try {
      const list = await api.webhooks(roomId);
      setWebhooks(list.webhooks.sort(byName));
      setLocalhostUrl(defaultPublicUrlElsewhere(list.publicUrl, list.publicUrlSet));
    } catch (e) {
      setError(errorMessage(e));
      setWebhooks([]);
    }
  }, [roomId]);

  useEffect(() => {
    void load();
    return () => window.clearTimeout(copiedTimer.current);
  }, [load]);

  const run = async (action: () => Promise<void>) => {
    setBusy(true);
    setError(null);
    try {
      await action();
    } catch (e) {
      setError(errorMessage(e));
    } finally {
      setBusy(false);
    }
  };

  const create = (e: FormEvent) => {
    e.preventDefault();
    const name = newName.trim();
    if (!name) return;
    void run(async () => {
      const w = await api.createWebhook(roomId, name);
      setWebhooks((list) => [...(list ?? []).filter((x) => x.id !== w.id), { ...w, createdAt: w.createdAt ?? Date.now() }].sort(byName));
      setCreating(false);
      setNewName('');
      setHighlight(w.id);
      setNotice(`Webhook “${w.name}” created. Copy its URL and give it to the script or service that posts.`);
      onChanged();
    });
  };

  const copy = async (w: WebhookInfo, button: HTMLElement) => {
    const ok = await copyText(w.url, button);
    window.clearTimeout(copiedTimer.current);
    if (ok) {
      setCopied(w.id);
      setNotice(null);
      copiedTimer.current = window.setTimeout(() => setCopied(null), 4000);
    } else {
      setCopied(null);
      setError('Could not copy automatically. Select the URL below the name and copy it.');
      const input = listRef.current?.querySelector<HTMLInputElement>(`[data-webhook-url="${w.id}"]`);
      input?.focus();
      input?.select();
    }
  };

  const confirm = () => {
    if (!confirming) return;
    const { kind, webhook } = confirming;
    void run(async () => {
      if (kind === 'delete') {
        await api.deleteWebhook(roomId, webhook.id);
        setWebhooks((list) => (list ?? []).filter((x) => x.id !== webhook.id));
        setNotice(`Webhook “${webhook.name}” deleted. Its URL no longer works.`);
      } else {
        const w = await api.regenerateWebhook(roomId, webhook.id, keepHours);
        setWebhooks((list) => (list ?? []).map((x) => (x.id === w.id ? { ...x, ...w } : x)));
        setHighlight(w.id);
        const until = w.previousUrlValidUntil ?? null;
        setNotice(
          until
            ? `New URL for “${w.name}” is ready; the old one keeps working until ${untilTime(until)}. Copy the new one and update the scripts that post before then.`
            : `New URL for “${w.name}” is ready; the old one no longer works. Copy it and update the scripts that post.`,
        );
      }
      setCopied(null);
      setConfirming(null);
      onChanged();
    });
  };

  const saveRename = (e: FormEvent) => {
    e.preventDefault();
    if (!renaming) return;
    const name = renaming.value.trim();
    if (!name) return;
    const id = renaming.id;
    void run(async () => {
      await api.renameWebhook(roomId, id, name);
      setWebhooks((list) => (list ?? []).map((x) => (x.id === id ? { ...x, name } : x)).sort(byName));
      setRenaming(null);
      setNotice(`Renamed to “${name}”. Earlier messages keep the name they were posted under.`);
      onChanged();
    });
  };

  const stopEscape = (e: KeyboardEvent, cancel: () => void) => {
    // Escape cancels the inline edit, not the whole dialog.
    if (e.key === 'Escape') {
      e.preventDefault();
      e.stopPropagation();
      cancel();
    }
  };

  const full = (webhooks?.length ?? 0) >= LIMITS.webhooksPerRoom;

  if (confirming) {
    const { kind, webhook } = confirming;
    return (
      <Modal title="Manage webhooks" onClose={() => setConfirming(null)} size="large">
        <div className="confirm" role="group" aria-labelledby="confirm-title" aria-describedby="confirm-text">
          <h3 id="confirm-title" className="confirm-title">
            {kind === 'delete' ? `Delete “${webhook.name}”?` : `Regenerate the URL of “${webhook.name}”?`}
          </h3>
          <p id="confirm-text" className="confirm-text">
            {kind === 'delete'
              ? 'Its URL stops working at once: posts to it will be refused with 404. Messages it already posted stay in the room. This cannot be undone.'
              : keepHours === 0
                ? 'The current URL stops working at once: posts to it will be refused with 404. Every script that posts to it must be given the new URL.'
                : `The current URL keeps working for ${keepHours === 1 ? '1 hour' : `${keepHours} hours`}, then posts to it are refused with 404. Give every script that posts to it the new URL before then.`}
          </p>
          {kind === 'regenerate' ? (
            <div className="field confirm-field">
              <label className="field-label" htmlFor="regenerate-overlap">
                Keep the old URL working for
              </label>
              <select id="regenerate-overlap" value={keepHours} onChange={(e) => setKeepHours(Number(e.target.value))}>
                {OVERLAP_CHOICES.map((c) => (
                  <option key={c.hours} value={c.hours}>
                    {c.label}
                  </option>
                ))}
              </select>
              <span className="field-hint">Its signing secret changes at once either way.</span>
            </div>
          ) : null}
          <FormError message={error} />
          <div className="form-actions">
            <button type="button" className="button" onClick={() => setConfirming(null)} autoFocus>
              Cancel
            </button>
            <button type="button" className="button button-danger" onClick={confirm} disabled={busy}>
              {kind === 'delete' ? 'Delete' : 'Regenerate URL'}
            </button>
          </div>
        </div>
      </Modal>
    );
  }

  const detailed = details ? webhooks?.find((w) => w.id === details) : undefined;
  if (detailed) {
    return (
      <Modal title="Manage webhooks" onClose={onClose} size="large">
        <WebhookDetails
          key={detailed.id}
          roomId={roomId}
          webhook={detailed}
          onBack={() => {
            setDetails(null);
            setHighlight(detailed.id);
          }}
          onUpdated={(w) => setWebhooks((list) => (list ?? []).map((x) => (x.id === w.id ? { ...x, ...w } : x)))}
          onOpenMessage={onOpenMessage}
        />
      </Modal>
    );
  }

  const now = Date.now();
  return (
    <Modal
      title="Manage webhooks"
      onClose={onClose}
      size="large"
      description={
        <>
          Webhooks post into <strong>#{roomName}</strong> from scripts and services, with the same <code>{'{"Content": "…"}'}</code> requests
          as Amazon Chime. Anyone with a URL can post, so share it like a password.
        </>
      }
    >
      <div className="webhooks" ref={listRef}>
        {localhostUrl ? (
          <div className="webhooks-warning" role="note" aria-label="Webhook URLs point at localhost">
            <p>
              <strong>Webhook URLs point at localhost</strong> (<code>{localhostUrl}</code>): they work only for scripts on the server’s own
              machine, because <code>PUBLIC_URL</code> is not set.
            </p>
            <p>
              To fix it, set <code>PUBLIC_URL</code> to the address scripts use to reach this server, for example{' '}
              <code>PUBLIC_URL={window.location.origin}</code>, and restart Carillon. The URLs here then use it; their tokens stay the same.
            </p>
          </div>
        ) : null}
        {notice ? (
          <p className="form-notice" role="status">
            {notice}
          </p>
        ) : null}
        <FormError message={error} />

        {webhooks === null ? <p className="list-status">Loading webhooks…</p> : null}
        {webhooks !== null && webhooks.length === 0 && !creating ? <p className="webhooks-empty">No webhooks yet. Create one with New.</p> : null}

        {webhooks && webhooks.length > 0 ? (
          <ul className="webhook-list">
            {webhooks.map((w) => (
              <li key={w.id} className={`webhook-row${highlight === w.id ? ' webhook-row-new' : ''}`} data-webhook-id={w.id}>
                <div className="webhook-row-head">
                  <span className="webhook-row-icon">
                    <WebhookIcon />
                  </span>
                  {renaming?.id === w.id ? (
                    <form className="rename-form" onSubmit={saveRename}>
                      <input
                        aria-label={`New name for ${w.name}`}
                        value={renaming.value}
                        maxLength={LIMITS.webhookNameMaxChars}
                        onChange={(e) => setRenaming({ id: w.id, value: e.target.value })}
                        onKeyDown={(e) => stopEscape(e, () => setRenaming(null))}
                        autoFocus
                        required
                      />
                      <button type="submit" className="button button-primary button-compact" disabled={busy}>
                        Save
                      </button>
                      <button type="button" className="button button-compact" onClick={() => setRenaming(null)}>
                        Cancel
                      </button>
                    </form>
                  ) : (
                    <span className="webhook-name">{w.name}</span>
                  )}
                  {w.failing && renaming?.id !== w.id ? <FailingBadge failing={w.failing} /> : null}
                </div>
                <input
                  className="webhook-url"
                  readOnly
                  value={w.url}
                  aria-label={`URL of ${w.name}`}
                  data-webhook-url={w.id}
                  onFocus={(e) => e.currentTarget.select()}
                  spellCheck={false}
                />
                {w.previousUrlValidUntil && w.previousUrlValidUntil > now ? (
                  <p className="webhook-overlap">Old URL works until {untilTime(w.previousUrlValidUntil)}</p>
                ) : null}
                <div className="webhook-actions">
                  <button type="button" className="button button-compact" onClick={(e) => void copy(w, e.currentTarget)}>
                    <CopyIcon />
                    <span>Copy webhook URL</span>
                  </button>
                  {copied === w.id ? (
                    <span className="copied" role="status">
                      <CheckIcon /> Copied
                    </span>
                  ) : null}
                  <span className="webhook-actions-spacer" />
                  <button
                    type="button"
                    className="button button-compact"
                    onClick={() => {
                      setRenaming(null);
                      setCreating(false);
                      setNotice(null);
                      setError(null);
                      setDetails(w.id);
                      // Fresh state (failing, settings) for the page.
                      void load();
                    }}
                  >
                    Details
                  </button>
                  <button
                    type="button"
                    className="button button-compact"
                    onClick={() => {
                      setKeepHours(0);
                      setConfirming({ kind: 'regenerate', webhook: w });
                    }}
                  >
                    Regenerate URL
                  </button>
                  <button
                    type="button"
                    className="button button-compact"
                    onClick={() => {
                      setCreating(false);
                      setRenaming({ id: w.id, value: w.name });
                    }}
                  >
                    Rename
                  </button>
                  <button type="button" className="button button-compact button-danger-quiet" onClick={() => setConfirming({ kind: 'delete', webhook: w })}>
                    Delete
                  </button>
                </div>
              </li>
            ))}
          </ul>
        ) : null}

        {creating ? (
          <form className="new-webhook" onSubmit={create}>
            <div className="field">
              <label className="field-label" htmlFor="new-webhook-name">
                Webhook name
              </label>
              <input
                id="new-webhook-name"
                value={newName}
                onChange={(e) => setNewName(e.target.value)}
                onKeyDown={(e) => stopEscape(e, () => setCreating(false))}
                maxLength={LIMITS.webhookNameMaxChars}
                placeholder="Deploy bot"
                required
                autoFocus
                aria-describedby="new-webhook-hint"
              />
              <span className="field-hint" id="new-webhook-hint">
                Shown on every message it posts, as “Name (Webhook)”.
              </span>
            </div>
            <div className="form-actions">
              <button type="button" className="button" onClick={() => setCreating(false)}>
                Cancel
              </button>
              <button type="submit" className="button button-primary" disabled={busy || newName.trim() === ''}>
                Create
              </button>
            </div>
          </form>
        ) : (
          <div className="webhooks-footer">
            <button
              type="button"
              className="button button-primary"
              disabled={full || webhooks === null}
              onClick={() => {
                setRenaming(null);
                setNotice(null);
                setCreating(true);
              }}
            >
              <PlusIcon />
              <span>New</span>
            </button>
            <span className="webhooks-count">
              {webhooks?.length ?? 0} of {LIMITS.webhooksPerRoom} webhooks
              {full ? ' — delete one to add another' : ''}
            </span>
          </div>
        )}
      </div>
    </Modal>
  );
}
