import type { PresenceClient } from '@presence/client';
import { renderClients } from './clients-view.js';
import { renderCustom } from './custom-view.js';

export interface MeElements {
  name: HTMLElement;
  status: HTMLElement;
  /** What everyone else sees: the most available over all of one's devices (this tab, other tabs, phone). */
  seen: HTMLElement;
  clients: HTMLElement;
  /** One's own custom status, as others see it. */
  custom: HTMLElement;
  select: HTMLSelectElement;
  offlineToggle: HTMLButtonElement;
}

/**
 * One's own status: what this tab reports (idle detection included), what others see over all one's devices
 * (the server's `self` and its later changes), a chooser, and go offline/online.
 */
export function mountMe(ui: MeElements, client: PresenceClient, username: string): void {
  ui.name.textContent = username;
  const renderSeen = () => {
    const self = client.userId === null ? undefined : client.get(client.userId);
    const status = self?.status ?? 'offline';
    ui.seen.textContent = status;
    ui.seen.dataset.status = status;
    renderClients(ui.clients, self?.clients);
    renderCustom(ui.custom, self?.custom);
  };
  client.on('status', (change) => {
    if (change.user_id === client.userId) renderSeen();
  });
  client.on('snapshot', renderSeen);
  const render = () => {
    renderSeen();
    ui.status.textContent = client.status;
    const offline = client.status === 'offline';
    ui.offlineToggle.textContent = offline ? 'Go online' : 'Go offline';
    ui.select.disabled = offline;
  };
  // This window's status changes with a choice, idle detection or going offline (`ownStatus`).
  client.on('heartbeat', render);
  client.on('connection', render);
  client.on('ownStatus', render);
  ui.select.addEventListener('change', () => {
    void client.setStatus(ui.select.value === 'away' ? 'away' : 'online').then(render);
  });
  ui.offlineToggle.addEventListener('click', () => {
    if (client.status === 'offline') client.connect().then(render, render);
    else void client.goOffline().then(render);
    render();
  });
  render();
}
