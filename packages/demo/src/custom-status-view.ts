import type { PresenceClient, UserPresence } from '@presence/client';

export interface CustomStatusElements {
  /** Holds `data-state`: `idle`, `saving`, `saved` or `error`, for styles and the browser tests. */
  panel: HTMLElement;
  emoji: HTMLInputElement;
  text: HTMLInputElement;
  expiry: HTMLSelectElement;
  /** The date and time picker shown for the "custom" expiry. */
  until: HTMLInputElement;
  untilLabel: HTMLElement;
  set: HTMLButtonElement;
  clear: HTMLButtonElement;
  error: HTMLElement;
}

/** The choices of the expiry picker (the `value` of its options). */
export type ExpiryChoice = 'never' | '30m' | '1h' | '4h' | 'today' | 'custom';

const MINUTE = 60_000;
const AFTER: Partial<Record<ExpiryChoice, number>> = {
  '30m': 30 * MINUTE,
  '1h': 60 * MINUTE,
  '4h': 240 * MINUTE,
};

/**
 * When a custom status set now should clear: null for "don't clear", the next local midnight for "today",
 * the picked local date and time for "custom" (an Error when none is picked).
 */
export function expiryOf(choice: ExpiryChoice, now: Date, picked: string): Date | null | Error {
  const after = AFTER[choice];
  if (after !== undefined) return new Date(now.getTime() + after);
  if (choice === 'today') return new Date(now.getFullYear(), now.getMonth(), now.getDate() + 1);
  if (choice !== 'custom') return null;
  // A datetime-local value has no offset: the Date constructor reads it as local time, as the user meant.
  const at = picked === '' ? Number.NaN : new Date(picked).getTime();
  return Number.isNaN(at) ? new Error('Pick the date and time it should clear at.') : new Date(at);
}

const message = (error: unknown) => (error instanceof Error ? error.message : String(error));

/**
 * The custom status editor: an emoji and a text, when it clears, set and clear. What the server refuses
 * (a 400 says why: too long, control characters, nothing to show, an expiry in the past) is shown as it
 * answered; the own custom status shown elsewhere comes from the store, as others see it.
 */
export function mountCustomStatus(ui: CustomStatusElements, client: PresenceClient): void {
  const busy = (on: boolean) => {
    for (const control of [ui.emoji, ui.text, ui.expiry, ui.until, ui.set, ui.clear]) control.disabled = on;
  };
  const fail = (text: string) => {
    ui.panel.dataset.state = 'error';
    ui.error.textContent = text;
  };
  const run = (change: () => Promise<UserPresence>, done: (presence: UserPresence) => void) => {
    ui.panel.dataset.state = 'saving';
    ui.error.textContent = '';
    busy(true);
    change()
      .then((presence) => {
        ui.panel.dataset.state = 'saved';
        done(presence);
      })
      .catch((error: unknown) => fail(`Not saved: ${message(error)}`))
      .finally(() => busy(false));
  };

  const showPicker = () => {
    const custom = ui.expiry.value === 'custom';
    ui.until.hidden = ui.untilLabel.hidden = !custom;
  };
  ui.expiry.addEventListener('change', showPicker);
  ui.set.addEventListener('click', () => {
    const expiresAt = expiryOf(ui.expiry.value as ExpiryChoice, new Date(), ui.until.value);
    if (expiresAt instanceof Error) {
      fail(expiresAt.message);
      ui.until.focus();
      return;
    }
    run(
      () => client.setCustomStatus({ emoji: ui.emoji.value.trim(), text: ui.text.value.trim(), expiresAt }),
      () => {},
    );
  });
  ui.clear.addEventListener('click', () =>
    run(
      () => client.clearCustomStatus(),
      () => {
        ui.emoji.value = ui.text.value = '';
        ui.expiry.value = 'never';
        showPicker();
      },
    ),
  );
  ui.panel.dataset.state = 'idle';
  showPicker();
}
