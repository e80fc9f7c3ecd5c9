/**
 * One message: sender (webhooks as `Name (Webhook)` with the webhook icon, SPEC 2.4), time, and the
 * server's rendered HTML. That HTML is already safe (the server's renderer checks it against an
 * allow-list); it goes into a dedicated element and is never re-parsed as markdown here.
 */
import { memo, useLayoutEffect, useRef } from 'react';
import type { Message } from '../../shared/api-types';
import { fullDate, senderLabel, timeOfDay } from '../lib/format';
import { Avatar } from './Avatar';
import { WebhookIcon } from './icons';

interface MessageItemProps {
  message: Message;
  myUserId: string;
  alert: boolean;
  continued: boolean;
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

export const MessageItem = memo(function MessageItem({ message, myUserId, alert, continued }: MessageItemProps) {
  const isWebhook = message.sender.type === 'webhook';
  const label = senderLabel(message.sender);
  const iso = new Date(message.createdAt).toISOString();
  return (
    <article
      className={`message${continued ? ' message-continued' : ''}${alert ? ' message-alert' : ''}${isWebhook ? ' message-webhook' : ''}`}
      data-seq={message.seq}
      data-message-id={message.id}
      aria-label={`${label}, ${timeOfDay(message.createdAt)}${alert ? ', mentions you' : ''}`}
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
            {alert ? <span className="message-alert-tag">Mentions you</span> : null}
          </header>
        )}
        <MessageBody html={message.html} myUserId={myUserId} />
      </div>
    </article>
  );
});
