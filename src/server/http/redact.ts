/** Secrets never reach a log line: the webhook `token` query parameter is replaced wherever a URL is logged. */

/** Replaces the value of every `token` query parameter (any case, encoded or not, also `token[]` and `token[x]`) with REDACTED. */
export function redactUrl(rawUrl: string): string {
  // Also any run of 72 or more letters and digits, wherever it is: a token pasted into the path,
  // behind an encoded "?" (%3F) or under another parameter name is still a token.
  const url = rawUrl.replace(/[A-Za-z0-9]{72,}/g, 'REDACTED');
  const q = url.indexOf('?');
  if (q < 0) return url;
  const query = url
    .slice(q + 1)
    .replace(/(^|[&;])((?:t|%74|%54|T)(?:o|%6f|%4f|O)(?:k|%6b|%4b|K)(?:e|%65|%45|E)(?:n|%6e|%4e|N)(?:(?:\[|%5b)[^&;#=]*?(?:\]|%5d))?)=[^&;#]*/gi, '$1$2=REDACTED');
  return `${url.slice(0, q)}?${query}`;
}
