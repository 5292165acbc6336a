import { element } from './dom.js';

const STORAGE_KEY = 'presence.admin.serviceKey';

/** The service key this tab was given, if any: sessionStorage, so it dies with the tab. */
export function storedKey(): string | null {
  return sessionStorage.getItem(STORAGE_KEY);
}

export function forgetKey(): void {
  sessionStorage.removeItem(STORAGE_KEY);
}

/** Asks for the service key until one is entered, keeps it for this tab and returns it. */
export function askForKey(refused: boolean): Promise<string> {
  const dialog = element<HTMLDialogElement>('key-dialog');
  const form = element<HTMLFormElement>('key-form');
  const input = element<HTMLInputElement>('key-input');
  element('key-refused').hidden = !refused;
  input.value = '';
  // Escape would close the dialog with nothing to show behind it: keep asking instead.
  const cancel = (event: Event) => event.preventDefault();
  return new Promise((resolve) => {
    const submit = (event: SubmitEvent) => {
      event.preventDefault();
      const key = input.value.trim();
      if (key === '') return;
      form.removeEventListener('submit', submit);
      dialog.removeEventListener('cancel', cancel);
      dialog.close();
      sessionStorage.setItem(STORAGE_KEY, key);
      resolve(key);
    };
    form.addEventListener('submit', submit);
    dialog.addEventListener('cancel', cancel);
    dialog.showModal();
    input.focus();
  });
}
