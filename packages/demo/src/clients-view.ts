import type { ClientKind, Clients } from '@presence/client';
import { element } from './dom.js';

const KINDS: readonly ClientKind[] = ['web', 'desktop', 'mobile'];
const ICON: Record<ClientKind, string> = { web: '🌐', desktop: '🖥️', mobile: '📱' };

/**
 * One small icon per kind of client a user is present on, dimmed while that kind is away. The container
 * carries `data-clients` (`web:online,mobile:away`) so styles and the browser tests can read it.
 */
export function renderClients(container: HTMLElement, clients: Clients | undefined): void {
  const present = KINDS.filter((kind) => clients?.[kind] !== undefined);
  container.dataset.clients = present.map((kind) => `${kind}:${clients?.[kind]}`).join(',');
  container.replaceChildren(
    ...present.map((kind) => {
      const status = clients?.[kind] ?? 'online';
      return element(
        'span',
        {
          class: 'client',
          'data-kind': kind,
          'data-status': status,
          title: `${kind}: ${status}`,
          role: 'img',
          'aria-label': `${kind}, ${status}`,
        },
        ICON[kind],
      );
    }),
  );
}
