import type { PresenceClient } from '@presence/client';

export interface MeElements {
  name: HTMLElement;
  status: HTMLElement;
  select: HTMLSelectElement;
  offlineToggle: HTMLButtonElement;
}

/** One's own status: what the client reports (idle detection included), a chooser, and go offline/online. */
export function mountMe(ui: MeElements, client: PresenceClient, username: string): void {
  ui.name.textContent = username;
  const render = () => {
    ui.status.textContent = client.status;
    const offline = client.status === 'offline';
    ui.offlineToggle.textContent = offline ? 'Go online' : 'Go offline';
    ui.select.disabled = offline;
  };
  // Idle detection changes the status without an event of its own; every heartbeat reports it.
  client.on('heartbeat', render);
  client.on('connection', render);
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
