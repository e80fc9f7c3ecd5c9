/**
 * Copies text: the async Clipboard API where the page is a secure context (HTTPS, localhost),
 * else the older execCommand path, which also works on plain-HTTP LAN installs.
 */
export async function copyText(text: string, near?: Element | null): Promise<boolean> {
  if (navigator.clipboard && window.isSecureContext) {
    try {
      await navigator.clipboard.writeText(text);
      return true;
    } catch {
      /* fall through */
    }
  }
  // Inside a modal <dialog> the rest of the page is inert, so the helper goes into the dialog.
  const host = near?.closest('dialog') ?? document.body;
  const helper = document.createElement('textarea');
  helper.value = text;
  helper.setAttribute('readonly', '');
  helper.setAttribute('aria-hidden', 'true');
  helper.className = 'clipboard-helper';
  host.appendChild(helper);
  helper.select();
  let ok = false;
  try {
    ok = document.execCommand('copy');
  } catch {
    ok = false;
  }
  helper.remove();
  return ok;
}
