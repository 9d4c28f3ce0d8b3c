// Clipboard writing that also works where navigator.clipboard is unavailable (plain http, which an
// internal server often is): fall back to a hidden textarea and execCommand.
export async function copyText(text: string): Promise<boolean> {
  try {
    if (navigator.clipboard && window.isSecureContext) {
      await navigator.clipboard.writeText(text);
      return true;
    }
  } catch {
    // fall through to the textarea route
  }
  const ta = document.createElement('textarea');
  ta.value = text;
  ta.setAttribute('readonly', '');
  ta.style.position = 'fixed';
  ta.style.opacity = '0';
  // Inside a modal <dialog> the rest of the page is inert, and an inert textarea cannot be
  // selected: put it in the open dialog so copying from one (an initial PIN or password) works.
  (document.querySelector('dialog[open]') ?? document.body).appendChild(ta);
  const active = document.activeElement as HTMLElement | null;
  ta.select();
  let ok = false;
  try {
    ok = document.execCommand('copy');
  } catch {
    ok = false;
  }
  ta.remove();
  active?.focus();
  return ok;
}
