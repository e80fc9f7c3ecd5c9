/**
 * One message: sender (webhooks as `Name (Webhook)` with the webhook icon, SPEC 2.4), time, and the
 * server's rendered HTML. That HTML is already safe (the server's renderer checks it against an
 * allow-list); it goes into a dedicated element and is never re-parsed as markdown here.
 *
 * Issue 14: "(edited)" after the time (its history for the author and room administrators), the
 * tombstone of a deleted message, reaction chips, inline editing, and the actions toolbar (Add
 * reaction, Edit message, Delete message) shown for the message under the pointer, with keyboard
 * focus, or tapped on a phone. Only one message shows it at a time (MessageList decides).
 */
import { type FocusEvent, type KeyboardEvent, type PointerEvent, memo, useEffect, useLayoutEffect, useRef, useState } from 'react';
import type { Message } from '../../shared/api-types';
import { LIMITS } from '../../shared/limits';
import { errorMessage } from '../lib/api';
import { fullDate, senderLabel, timeOfDay } from '../lib/format';
import { Avatar } from './Avatar';
import { PencilIcon, SmilePlusIcon, TrashIcon, WebhookIcon } from './icons';
import { ReactionChips, ReactionPicker } from './ReactionPicker';

/** What a message's controls do; one stable object for the whole list (MessageList). */
export interface MessageHandlers {
  edit(message: Message, content: string): Promise<void>;
  react(message: Message, emoji: string, on: boolean): Promise<void>;
  /** Asks for confirmation, then deletes. */
  requestDelete(message: Message): void;
  showHistory(message: Message): void;
  /** The pointer entered (true) or left (false) the message. */
  hover(id: string, on: boolean): void;
  /** Focus entered (true) or left (false) the message. */
  focus(id: string, on: boolean): void;
  /** A tap (touch or pen) on the message. */
  tap(id: string): void;
}

interface MessageItemProps {
  message: Message;
  myUserId: string;
  alert: boolean;
  continued: boolean;
  /** Whether its actions toolbar shows (hovered, focused or tapped). */
  active: boolean;
  /** The viewer is an administrator of the room (may delete any message, sees edit histories). */
  isAdmin: boolean;
  /** Display names by user id (the room's roster), for reactions. */
  names: ReadonlyMap<string, string>;
  handlers: MessageHandlers;
}

function MessageBody({ html, myUserId }: { html: string; myUserId: string }) {
  const ref = useRef<HTMLDivElement>(null);
  useLayoutEffect(() => {
    const el = ref.current;
    if (!el) return;
    for (const span of el.querySelectorAll<HTMLElement>('span.mention[data-user-id]')) {
      span.classList.toggle('mention-me', span.dataset.userId === myUserId);
    }
    // Links always open in a new tab without opener or referrer, whatever the HTML says.
    for (const a of el.querySelectorAll('a')) {
      a.target = '_blank';
      a.rel = 'noopener noreferrer nofollow';
    }
  }, [html, myUserId]);
  return <div ref={ref} className="message-body" dangerouslySetInnerHTML={{ __html: html }} />;
}

function codePoints(s: string): number {
  let n = 0;
  for (const _ of s) n++;
  return n;
}

/** Inline editing: Enter saves, Shift+Enter is a new line, Escape cancels; the server's refusal shows here. */
function EditForm({ message, onSave, onDone }: { message: Message; onSave(content: string): Promise<void>; onDone(): void }) {
  const [text, setText] = useState(message.content);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const box = useRef<HTMLTextAreaElement>(null);
  const length = codePoints(text);
  const tooLong = length > LIMITS.contentMaxCodePoints;

  useEffect(() => {
    const el = box.current;
    if (!el) return;
    el.focus({ preventScroll: true });
    el.setSelectionRange(el.value.length, el.value.length);
  }, []);

  const save = async () => {
    if (busy || tooLong) return;
    if (text === message.content) return onDone();
    if (text.trim() === '') {
      setError('A message cannot be empty. Delete it instead.');
      return;
    }
    setBusy(true);
    setError(null);
    try {
      await onSave(text);
      onDone();
    } catch (e) {
      setError(errorMessage(e));
      setBusy(false);
    }
  };

  const onKeyDown = (e: KeyboardEvent<HTMLTextAreaElement>) => {
    if (e.key === 'Enter' && !e.shiftKey && !e.nativeEvent.isComposing) {
      e.preventDefault();
      void save();
    } else if (e.key === 'Escape') {
      e.preventDefault();
      e.stopPropagation();
      onDone();
    }
  };

  return (
    <form
      className="message-edit"
      onSubmit={(e) => {
        e.preventDefault();
        void save();
      }}
    >
      <textarea
        ref={box}
        className={`message-edit-box${tooLong ? ' message-edit-box-invalid' : ''}`}
        aria-label="Edit message"
        aria-invalid={tooLong || error !== null || undefined}
        rows={2}
        value={text}
        onChange={(e) => setText(e.target.value)}
        onKeyDown={onKeyDown}
        enterKeyHint="done"
      />
      {error ? (
        <p className="message-edit-error" role="alert">
          {error}
        </p>
      ) : null}
      <div className="message-edit-actions">
        <span className="message-edit-help">
          {length > LIMITS.contentMaxCodePoints - 200 ? (
            <span className={tooLong ? 'composer-count-over' : ''}>
              {length} / {LIMITS.contentMaxCodePoints}
            </span>
          ) : (
            <>
              <kbd>Enter</kbd> to save, <kbd>Esc</kbd> to cancel
            </>
          )}
        </span>
        <button type="button" className="button button-compact" onClick={onDone} disabled={busy}>
          Cancel
        </button>
        <button type="submit" className="button button-primary button-compact" disabled={busy || tooLong}>
          Save
        </button>
      </div>
    </form>
  );
}

function EditedMark({ message, canSeeHistory, onShow }: { message: Message; canSeeHistory: boolean; onShow(): void }) {
  if (message.editedAt == null || message.deletedAt != null) return null;
  const title = `Edited ${fullDate(message.editedAt)}`;
  return canSeeHistory ? (
    <button type="button" className="message-edited message-edited-button" title={`${title} · show the earlier versions`} onClick={onShow}>
      (edited)
    </button>
  ) : (
    <span className="message-edited" title={title}>
      (edited)
    </span>
  );
}

export const MessageItem = memo(function MessageItem({ message, myUserId, alert, continued, active, isAdmin, names, handlers }: MessageItemProps) {
  const [editing, setEditing] = useState(false);
  const [picker, setPicker] = useState(false);
  const [reactError, setReactError] = useState<string | null>(null);
  const article = useRef<HTMLElement>(null);
  const addButton = useRef<HTMLButtonElement>(null);

  const isWebhook = message.sender.type === 'webhook';
  // Loose checks: a message from an older server has no editedAt, deletedAt or reactions.
  const deleted = message.deletedAt != null;
  const reactions = message.reactions ?? [];
  const mine = message.sender.type === 'user' && message.sender.id === myUserId;
  const canEdit = mine && !deleted;
  const canDelete = (mine || isAdmin) && !deleted;
  const canSeeHistory = mine || isAdmin;
  const label = senderLabel(message.sender);
  const iso = new Date(message.createdAt).toISOString();

  // A message deleted (here or elsewhere) while being edited or reacted to: nothing left to do.
  useEffect(() => {
    if (deleted) {
      setEditing(false);
      setPicker(false);
    }
  }, [deleted]);

  const react = (emoji: string, on: boolean) => {
    setReactError(null);
    handlers.react(message, emoji, on).catch((e: unknown) => setReactError(errorMessage(e)));
  };

  const myReactions = new Set(reactions.filter((r) => r.userIds.includes(myUserId)).map((r) => r.emoji));
  const showToolbar = (active || picker) && !deleted && !editing;

  const onPointerEnter = (e: PointerEvent) => {
    if (e.pointerType === 'mouse') handlers.hover(message.id, true);
  };
  const onPointerLeave = (e: PointerEvent) => {
    if (e.pointerType === 'mouse') handlers.hover(message.id, false);
  };
  const onPointerUp = (e: PointerEvent) => {
    if (e.pointerType !== 'mouse') handlers.tap(message.id);
  };
  const onBlur = (e: FocusEvent) => {
    if (!e.currentTarget.contains(e.relatedTarget as Node | null)) handlers.focus(message.id, false);
  };

  const edited = <EditedMark message={message} canSeeHistory={canSeeHistory} onShow={() => handlers.showHistory(message)} />;

  return (
    <article
      ref={article}
      className={`message${continued ? ' message-continued' : ''}${alert ? ' message-alert' : ''}${isWebhook ? ' message-webhook' : ''}${deleted ? ' message-deleted' : ''}`}
      data-seq={message.seq}
      data-message-id={message.id}
      data-active={showToolbar || undefined}
      aria-label={`${label}, ${timeOfDay(message.createdAt)}${alert ? ', mentions you' : ''}`}
      tabIndex={0}
      onPointerEnter={onPointerEnter}
      onPointerLeave={onPointerLeave}
      onPointerUp={onPointerUp}
      onFocus={() => handlers.focus(message.id, true)}
      onBlur={onBlur}
    >
      <div className="message-gutter">
        {continued ? (
          <time className="message-time-hover" dateTime={iso} title={fullDate(message.createdAt)}>
            {timeOfDay(message.createdAt)}
          </time>
        ) : (
          <Avatar id={message.sender.id} name={message.sender.name} kind={isWebhook ? 'webhook' : 'user'} />
        )}
      </div>
      <div className="message-main">
        {continued ? null : (
          <header className="message-header">
            <span className="message-sender">{label}</span>
            {isWebhook ? <WebhookIcon label="Webhook" className="message-webhook-icon" /> : null}
            <time className="message-time" dateTime={iso} title={fullDate(message.createdAt)}>
              {timeOfDay(message.createdAt)}
            </time>
            {edited}
            {alert ? <span className="message-alert-tag">Mentions you</span> : null}
          </header>
        )}
        {deleted ? (
          <p className="message-tombstone">{message.deletedBy === 'administrator' ? 'This message was deleted by a room administrator.' : 'This message was deleted.'}</p>
        ) : editing ? (
          <EditForm
            message={message}
            onSave={(content) => handlers.edit(message, content)}
            onDone={() => {
              setEditing(false);
              article.current?.focus({ preventScroll: true });
            }}
          />
        ) : (
          <>
            <MessageBody html={message.html} myUserId={myUserId} />
            {continued ? <div className="message-edited-line">{edited}</div> : null}
          </>
        )}
        {deleted ? null : <ReactionChips reactions={reactions} myUserId={myUserId} names={names} isAlert={isWebhook} onToggle={react} />}
        {reactError && !deleted ? (
          <p className="message-action-error" role="alert">
            {reactError}
          </p>
        ) : null}
      </div>
      {showToolbar ? (
        <div className="message-actions" role="group" aria-label="Message actions">
          <button
            ref={addButton}
            type="button"
            className="message-action"
            aria-label="Add reaction"
            title="Add reaction"
            aria-haspopup="dialog"
            aria-expanded={picker}
            onClick={() => setPicker((p) => !p)}
          >
            <SmilePlusIcon />
          </button>
          {canEdit ? (
            <button
              type="button"
              className="message-action"
              aria-label="Edit message"
              title="Edit message"
              onClick={() => {
                setPicker(false);
                setEditing(true);
              }}
            >
              <PencilIcon />
            </button>
          ) : null}
          {canDelete ? (
            <button
              type="button"
              className="message-action message-action-danger"
              aria-label="Delete message"
              title="Delete message"
              onClick={() => {
                setPicker(false);
                handlers.requestDelete(message);
              }}
            >
              <TrashIcon />
            </button>
          ) : null}
          {picker ? (
            <ReactionPicker
              mine={myReactions}
              anchor={addButton}
              onPick={react}
              onClose={(refocus) => {
                setPicker(false);
                if (refocus) addButton.current?.focus({ preventScroll: true });
              }}
            />
          ) : null}
        </div>
      ) : null}
    </article>
  );
});
