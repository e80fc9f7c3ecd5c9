/** Escapes text for HTML text and double-quoted attribute values (the same four characters markdown-it escapes). */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"]/g, (c) => ESCAPES.get(c) ?? c);
}
const ESCAPES = new Map([
  ['&', '&amp;'],
  ['<', '&lt;'],
  ['>', '&gt;'],
  ['"', '&quot;'],
]);

/** A fence's language becomes a class only when it is a plain token, so no info string can inject markup or classes. */
const LANGUAGE = /^[A-Za-z0-9_+-]{1,32}$/;

/** One `<pre><code>` block; used by `/code`, plain-mode fences and Markdown fences alike. */
export function codeBlockHtml(code: string, info = ''): string {
  const lang = info.trim().split(/\s+/, 1)[0] ?? '';
  const cls = LANGUAGE.test(lang) ? ` class="language-${lang}"` : '';
  return `<pre><code${cls}>${escapeHtml(code)}</code></pre>\n`;
}

/** Plain text with its line breaks: the degraded rendering, and what plain-mode text runs end up as. */
export function textHtml(text: string): string {
  return escapeHtml(text).replace(/\n/g, '<br>');
}

// Explicit bidi embeddings, overrides and isolates (U+202A–U+202E, U+2066–U+2069) can reorder what
// readers see (Trojan Source, CVE-2021-42574; "invoice_<RLO>fdp.exe"). Legitimate RTL text does not need
// them (the bidi algorithm handles Arabic/Hebrew), so they are shown as visible markers instead.
const BIDI_CONTROLS = /[\u202A-\u202E\u2066-\u2069]/g;
// Unicode tag characters are invisible and are used to smuggle hidden text (e.g. to LLMs); they are
// only legitimate inside emoji tag sequences (🏴 + tags + CANCEL TAG, e.g. the flag of England).
const TAG_CHARACTERS = /(\u{1F3F4}[\u{E0020}-\u{E007E}]{1,16}\u{E007F})|[\u{E0000}-\u{E007F}]/gu;

/**
 * Makes invisible reordering/smuggling characters harmless in finished HTML. The replacements contain
 * none of `<>&"`, so this is safe to run over text and attribute values alike.
 */
export function neutralizeInvisibles(html: string): string {
  return html
    .replace(BIDI_CONTROLS, (c) => `[U+${c.charCodeAt(0).toString(16).toUpperCase()}]`)
    .replace(TAG_CHARACTERS, (_all, flag: string | undefined) => flag ?? '');
}
