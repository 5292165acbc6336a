import type { LastSeenVisibility, PresenceClient, PrivacySettings } from '@presence/client';

export interface SettingsElements {
  /** Holds `data-invisible` and `data-last-seen`: the settings as the server last answered them. */
  panel: HTMLElement;
  invisible: HTMLInputElement;
  lastSeen: HTMLSelectElement;
  note: HTMLElement;
}

const LAST_SEEN_NOTE: Record<LastSeenVisibility, string> = {
  everyone: '',
  friends: 'Only mutual follows see when you were last online.',
  nobody: 'Nobody sees when you were last online, and you see nobody’s.',
};

/**
 * The privacy settings panel: an invisible toggle and the last-seen choice. Each change goes to the server,
 * and the panel shows what the server answered (a refused change puts the controls back).
 */
export function mountSettings(ui: SettingsElements, client: PresenceClient): void {
  const render = (settings: PrivacySettings) => {
    ui.invisible.checked = settings.invisible;
    ui.lastSeen.value = settings.last_seen;
    ui.panel.dataset.invisible = String(settings.invisible);
    ui.panel.dataset.lastSeen = settings.last_seen;
    ui.note.textContent = settings.invisible
      ? 'You are invisible: everyone else sees you offline, and your typing stays here.'
      : LAST_SEEN_NOTE[settings.last_seen];
  };
  const save = (change: Promise<PrivacySettings>) => {
    ui.invisible.disabled = ui.lastSeen.disabled = true;
    change
      .then(render, (error: unknown) => {
        ui.note.textContent = `Not saved: ${error instanceof Error ? error.message : String(error)}`;
        return client.getSettings().then(render);
      })
      .catch(() => {})
      .finally(() => {
        ui.invisible.disabled = ui.lastSeen.disabled = false;
      });
  };
  ui.invisible.addEventListener('change', () => save(client.setInvisible(ui.invisible.checked)));
  ui.lastSeen.addEventListener('change', () =>
    save(client.setLastSeenVisibility(ui.lastSeen.value as LastSeenVisibility)),
  );
  save(client.getSettings());
}
