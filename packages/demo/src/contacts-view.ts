import { formatLastSeen, type PresenceClient, type UserPresence } from '@presence/client';
import type { DemoUser } from './api.js';
import { renderClients } from './clients-view.js';
import { renderCustom } from './custom-view.js';
import { element } from './dom.js';

/** How often "last seen …" is re-rendered: often enough that seconds visibly tick. */
const TICK_MS = 1000;

/**
 * The contact list: one row per other demo user with a status dot, an icon per kind of client they are on
 * (web, desktop, mobile), their custom status (emoji and text, the expiry as a tooltip) and "last seen …".
 * Rows carry
 * `data-user-id` and `data-status` so styles (and the browser tests) can read the state.
 */
export function mountContacts(list: HTMLElement, client: PresenceClient, contacts: DemoUser[]): () => void {
  const rows = new Map<
    number,
    { row: HTMLElement; seen: HTMLElement; clients: HTMLElement; custom: HTMLElement }
  >();
  for (const contact of contacts) {
    const row = element('li', {
      class: 'contact',
      'data-user-id': String(contact.user_id),
      'data-status': 'offline',
    });
    const seen = element('span', { class: 'seen' });
    const clients = element('span', { class: 'clients' });
    const custom = element('span', { class: 'custom', hidden: '' });
    row.append(
      element('span', { class: 'dot', 'aria-hidden': 'true' }),
      element('span', { class: 'name' }, contact.username),
      clients,
      custom,
      seen,
    );
    list.append(row);
    rows.set(contact.user_id, { row, seen, clients, custom });
  }

  const render = (presence: UserPresence | undefined, userId: number, now = Date.now()) => {
    const entry = rows.get(userId);
    if (!entry) return;
    entry.row.dataset.status = presence?.status ?? 'offline';
    entry.seen.textContent = presence ? formatLastSeen(presence, { now }) : 'offline';
    renderClients(entry.clients, presence?.clients);
    renderCustom(entry.custom, presence?.custom);
  };
  const renderAll = () => {
    const now = Date.now();
    for (const userId of rows.keys()) render(client.get(userId), userId, now);
  };

  renderAll();
  const offStatus = client.on('status', (change) => render(change, change.user_id));
  const offSnapshot = client.on('snapshot', renderAll);
  const ticker = setInterval(renderAll, TICK_MS);
  return () => {
    offStatus();
    offSnapshot();
    clearInterval(ticker);
  };
}
