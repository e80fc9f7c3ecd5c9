/**
 * The content policy shared by member posts and webhook posts (SPEC 2.3, RELIABILITY D-1..D-3):
 * content is stored exactly as sent, or refused with a sentence that says what to fix.
 */
import { LIMITS } from '../../shared/limits.js';
import { AppError } from '../errors.js';

// Unicode White_Space plus the invisible format characters people use to fake an empty message.
const INVISIBLE = /[\s\u200b-\u200d\u2060\ufeff\u180e]/gu;

/** Number of Unicode code points (what every real Chime client pre-checks against 4096). */
export function codePointLength(s: string): number {
  let n = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length) {
      const d = s.charCodeAt(i + 1);
      if (d >= 0xdc00 && d <= 0xdfff) i++;
    }
    n++;
  }
  return n;
}

/** Throws PayloadTooLarge when over the limit (checked before the other content rules, SPEC 2.3 order). */
export function checkContentSize(content: string, field = 'Content'): void {
  const n = codePointLength(content);
  if (n > LIMITS.contentMaxCodePoints) {
    throw new AppError(
      'PayloadTooLarge',
      `${field} is ${n} characters long; the limit is ${LIMITS.contentMaxCodePoints} characters (Unicode code points). Shorten the message or split it into several posts.`,
    );
  }
}

/** Throws InvalidPayload for content that cannot be stored or would show nothing. */
export function checkContentValue(content: string, field = 'Content'): void {
  if (content.includes('\u0000')) {
    throw new AppError('InvalidPayload', `${field} contains a NUL character (\\u0000), which cannot be stored; remove it.`);
  }
  if (!content.isWellFormed()) {
    throw new AppError('InvalidPayload', `${field} contains an unpaired UTF-16 surrogate (an escape such as \\ud800 without its pair); send valid Unicode text.`);
  }
  if (content.replace(INVISIBLE, '') === '') {
    throw new AppError('InvalidPayload', `${field} is empty or only white space; send the text of the message.`);
  }
}
