import type { CustomStatus } from '@presence/client';

const time = new Intl.DateTimeFormat(undefined, { hour: '2-digit', minute: '2-digit' });
const dateTime = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'short' });

/** "Clears at 14:30" today, "Clears on 5 Dec 2026, 09:00" later, or "Stays until cleared". */
export function expiryText(expiresAt: string | null, now = new Date()): string {
  if (expiresAt === null) return 'Stays until cleared';
  const at = new Date(expiresAt);
  if (Number.isNaN(at.getTime())) return 'Stays until cleared';
  return at.toDateString() === now.toDateString()
    ? `Clears at ${time.format(at)}`
    : `Clears on ${dateTime.format(at)}`;
}

/**
 * A user's custom status: the emoji and the text, with the expiry as a tooltip; hidden when there is none.
 * The element carries `data-custom` (`🍕 Lunch`, empty for none) and `data-expires-at` for styles and the
 * browser tests.
 */
export function renderCustom(container: HTMLElement, custom: CustomStatus | null | undefined): void {
  const shown = custom ? [custom.emoji, custom.text].filter((part) => part !== null).join(' ') : '';
  container.hidden = shown === '';
  container.dataset.custom = shown;
  container.dataset.expiresAt = custom?.expires_at ?? '';
  if (container.textContent !== shown) container.textContent = shown;
  if (custom) container.title = expiryText(custom.expires_at);
  else container.removeAttribute('title');
}
