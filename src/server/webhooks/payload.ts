/**
 * The body of a webhook post → the message text (SPEC 2.2), or an InvalidPayload error whose
 * Message says what to fix. Pure, so every vector in test/vectors can pin it.
 *
 * What real Chime clients send (test/fixtures/chime-clients): a UTF-8 JSON object with the key
 * `Content`, under any Content-Type or none; pure-ASCII JSON with \uXXXX escapes (Python) or raw
 * UTF-8 (Node); unknown keys beside it (pyChime sends "Content-Type" inside the JSON).
 */
import { LIMITS } from '../../shared/limits.js';
import { AppError } from '../errors.js';

export interface WebhookPayload {
  /** The message text, exactly as sent. */
  content: string;
  /** The key it came from: `Content`, or a key differing only in letter case (SPEC 2.2). */
  key: string;
  /**
   * `"Key"` (issue 14, exactly that spelling, so plain Chime posts never change meaning), as sent:
   * the post updates the webhook's earlier message with this key instead of adding one. Checked
   * with checkUpdateKey after the content's size (SPEC 2.3 order: 413 before 400).
   */
  rawKey?: unknown;
}

const EXAMPLE = 'send a JSON object such as {"Content": "Hello"}';

const invalid = (message: string) => new AppError('InvalidPayload', message);

// Strict UTF-8: invalid bytes, overlong forms, surrogate halves (CESU-8) and code points above
// U+10FFFF are refused rather than stored as U+FFFD, so what is stored is exactly what was sent.
// Pinned: a leading byte-order mark is skipped (ignoreBOM false), as Windows tools such as
// PowerShell 5's Out-File -Encoding utf8 write one; a BOM anywhere else is kept as U+FEFF.
const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: false });

export function parseWebhookBody(body: Buffer | undefined): WebhookPayload {
  if (body === undefined || body.length === 0) throw invalid(`The request body is empty; ${EXAMPLE}.`);
  const text = decode(body);
  if (text.trim() === '') throw invalid(`The request body is only white space; ${EXAMPLE}.`);

  let value: unknown;
  try {
    // JSON.parse builds plain objects with own properties only: "__proto__" stays an ordinary key
    // and pollutes nothing. Pinned: a repeated key keeps its last value (ECMA-262 JSON.parse), and
    // that one value is the one size-checked, mention-checked and stored.
    value = JSON.parse(text);
  } catch (e) {
    throw invalid(describeJsonError(text, e));
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    const what = value === null ? 'null' : Array.isArray(value) ? 'an array' : `a ${typeof value}`;
    throw invalid(`The body must be a JSON object, not ${what}; ${EXAMPLE}.`);
  }
  const obj = value as Record<string, unknown>;
  const key = Object.hasOwn(obj, 'Content') ? 'Content' : Object.keys(obj).find((k) => /^content$/i.test(k));
  if (key === undefined) {
    const keys = Object.keys(obj);
    if (keys.length === 0) throw invalid(`The JSON object is empty; ${EXAMPLE}.`);
    const shown = keys.slice(0, 5).map((k) => JSON.stringify(k.length > 40 ? `${k.slice(0, 40)}…` : k).replace(/^"|"$/g, "'"));
    const more = keys.length > 5 ? ` and ${keys.length - 5} more` : '';
    throw invalid(`The JSON object has no 'Content' key (found key${keys.length > 1 ? 's' : ''} ${shown.join(', ')}${more}); the key is 'Content', e.g. {"Content": "Hello"}.`);
  }
  const content = obj[key];
  if (typeof content !== 'string') {
    throw invalid(`'${key}' must be a string (the text of the message), not ${describeType(content)}; e.g. {"Content": "Hello"}.`);
  }
  return Object.hasOwn(obj, 'Key') && obj.Key !== null ? { content, key, rawKey: obj.Key } : { content, key };
}

/**
 * A message key (the body's "Key" or the X-Carillon-Key header): 1–128 characters, no control
 * characters. `source` names where it came from in the error.
 */
export function checkUpdateKey(value: unknown, source: string): string {
  if (typeof value !== 'string') {
    throw invalid(`${source} must be a string that names the message to update (e.g. an alert's id), not ${describeType(value)}; leave it out to post a new message.`);
  }
  const length = [...value].length;
  if (length === 0 || length > LIMITS.webhookKeyMaxChars) {
    throw invalid(`${source} must be 1 to ${LIMITS.webhookKeyMaxChars} characters long (it is ${length}); leave it out to post a new message.`);
  }
  if (/[\p{Cc}]/u.test(value)) throw invalid(`${source} contains a control character (such as a newline or NUL); use letters, digits and punctuation.`);
  return value;
}

function decode(body: Buffer): string {
  try {
    return utf8.decode(body);
  } catch {
    // Name the likely encoding: UTF-16 and UTF-32 start with a BOM or have NUL bytes beside ASCII.
    const b0 = body[0];
    const b1 = body[1];
    if ((b0 === 0xff && b1 === 0xfe) || (b0 === 0xfe && b1 === 0xff)) {
      throw invalid(`The body is UTF-16, not UTF-8; send the JSON encoded as UTF-8 (${EXAMPLE}).`);
    }
    throw invalid(`The body is not valid UTF-8 (a byte sequence in it is not UTF-8, e.g. Latin-1 text); send the JSON encoded as UTF-8 (${EXAMPLE}).`);
  }
}

function describeType(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  if (typeof v === 'object') return 'an object';
  return `a ${typeof v}`;
}

/** A sentence about why the text is not JSON, with a hint for the usual mistakes. */
function describeJsonError(text: string, e: unknown): string {
  const start = text.trimStart();
  // UTF-16/32 without a BOM decodes as UTF-8 with NUL bytes between the characters.
  if (start.startsWith('\u0000') || /^.\u0000/su.test(start)) {
    return `The body is not UTF-8 JSON (it has NUL bytes, as UTF-16 or UTF-32 text does); ${EXAMPLE}, encoded as UTF-8.`;
  }
  if (/^payload=/i.test(start)) {
    return `The body is a form field (payload=…), not JSON; send the JSON itself as the request body: {"Content": "Hello"}.`;
  }
  if (/^[A-Za-z_][\w.-]*=/.test(start)) {
    return `The body is form data (key=value), not JSON; ${EXAMPLE} as the request body.`;
  }
  if (start.startsWith('<')) return `The body is XML or HTML, not JSON; ${EXAMPLE}.`;
  if (start.startsWith('--')) return `The body is multipart form data, not JSON; ${EXAMPLE} as the raw request body.`;
  const raw = e instanceof Error ? e.message : String(e);
  // V8 quotes a piece of the input in some messages; keep only the reason and the position.
  const reason = raw.replace(/,\s*".*" is not valid JSON$/s, '').replace(/\s+/g, ' ').slice(0, 160);
  const position = /position (\d+)/.exec(raw)?.[1];
  if (/after JSON/i.test(raw)) {
    return `The body has more after the JSON object${position ? ` (at character ${position})` : ''}; send exactly one JSON object per request, e.g. {"Content": "Hello"}.`;
  }
  return `The body is not valid JSON (${reason}); ${EXAMPLE}.`;
}
