/** Secrets never reach a log line: the webhook `token` query parameter is replaced wherever a URL is logged. */

/** Replaces the value of every `token` query parameter (any case, encoded or not) with REDACTED. */
export function redactUrl(url: string): string {
  const q = url.indexOf('?');
  if (q < 0) return url;
  const query = url
    .slice(q + 1)
    .replace(/(^|[&;])((?:t|%74|%54|T)(?:o|%6f|%4f|O)(?:k|%6b|%4b|K)(?:e|%65|%45|E)(?:n|%6e|%4e|N)(?:%5b%5d|\[\])?)=[^&;#]*/gi, '$1$2=REDACTED');
  return `${url.slice(0, q)}?${query}`;
}
