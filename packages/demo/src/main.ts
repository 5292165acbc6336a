import { type ClientKind, PresenceClient } from '@presence/client';
import { type DemoData, type DemoUser, fetchDemoData, fetchToken } from './api.js';
import { mountContacts } from './contacts-view.js';
import { mountConversation } from './conversation-view.js';
import { mountCustomStatus } from './custom-status-view.js';
import { byId, element } from './dom.js';
import { mountMe } from './me-view.js';
import { mountSettings } from './settings-view.js';

/**
 * Query parameters: `user` picks the demo user (so a reload, or a second window, lands straight in a
 * session), `idle` sets the idle time in ms (the browser tests use a short one) and `client` says which kind
 * of client this window plays (`web`, `desktop` or `mobile`), to show contacts' device icons.
 */
function readParams(): { user: number | null; idleMs: number | undefined; kind: ClientKind } {
  const params = new URLSearchParams(location.search);
  const user = Number(params.get('user'));
  const idle = Number(params.get('idle'));
  const kind = params.get('client');
  return {
    user: Number.isSafeInteger(user) && user > 0 ? user : null,
    idleMs: Number.isFinite(idle) && idle > 0 ? idle : undefined,
    kind: kind === 'mobile' || kind === 'desktop' ? kind : 'web',
  };
}

function showPicker(data: DemoData): void {
  const picker = byId('picker');
  const choices = byId('choices');
  for (const user of data.users) {
    const button = element('button', { type: 'button' }, user.username);
    button.addEventListener('click', () => {
      const params = new URLSearchParams(location.search);
      params.set('user', String(user.user_id));
      location.search = params.toString();
    });
    const item = element('li');
    item.append(button);
    choices.append(item);
  }
  picker.hidden = false;
  choices.querySelector('button')?.focus();
}

const CONNECTION_TEXT = { connecting: 'Connecting…', open: 'Connected', closed: 'Disconnected' } as const;

function startSession(data: DemoData, me: DemoUser, idleMs: number | undefined, kind: ClientKind): void {
  const nameOf = (id: number) => data.users.find((u) => u.user_id === id)?.username ?? `User ${id}`;
  const client = new PresenceClient({
    token: () => fetchToken(me.user_id),
    idle: idleMs === undefined ? {} : { idleMs },
    client: kind,
  });
  document.title = `${me.username} · Presence demo`;
  byId('session').hidden = false;

  const connection = byId('connection');
  client.on('connection', (state) => {
    connection.textContent = `${me.username} · ${CONNECTION_TEXT[state]}`;
  });

  mountMe(
    {
      name: byId('me-name'),
      status: byId('me-status'),
      seen: byId('me-seen'),
      clients: byId('me-clients'),
      custom: byId('me-custom'),
      select: byId<HTMLSelectElement>('status-select'),
      offlineToggle: byId<HTMLButtonElement>('offline-toggle'),
    },
    client,
    me.username,
  );
  mountSettings(
    {
      panel: byId('privacy'),
      invisible: byId<HTMLInputElement>('invisible-toggle'),
      lastSeen: byId<HTMLSelectElement>('last-seen-select'),
      note: byId('privacy-note'),
    },
    client,
  );
  mountCustomStatus(
    {
      panel: byId('custom-status'),
      emoji: byId<HTMLInputElement>('custom-emoji'),
      text: byId<HTMLInputElement>('custom-text'),
      expiry: byId<HTMLSelectElement>('custom-expiry'),
      until: byId<HTMLInputElement>('custom-until'),
      untilLabel: byId('custom-until-label'),
      set: byId<HTMLButtonElement>('custom-set'),
      clear: byId<HTMLButtonElement>('custom-clear'),
      error: byId('custom-error'),
    },
    client,
  );
  mountContacts(
    byId('contacts'),
    client,
    data.users.filter((u) => u.user_id !== me.user_id),
  );
  const conversation = data.conversations.find((c) => c.participant_ids.includes(me.user_id));
  if (conversation) {
    mountConversation(
      {
        title: byId('conversation-title'),
        messages: byId('messages'),
        typing: byId('typing'),
        form: byId<HTMLFormElement>('composer'),
        input: byId<HTMLInputElement>('message'),
      },
      client,
      conversation,
      me.user_id,
      nameOf,
    );
  } else {
    byId('conversation-title').textContent = 'No conversation';
    byId<HTMLFormElement>('composer').hidden = true;
  }
  // Rejects only when the user goes offline before the first snapshot, which needs no message.
  client.connect().catch(() => {});
}

function showError(message: string): void {
  const notice = byId('notice');
  notice.textContent = message;
  notice.hidden = false;
}

async function main(): Promise<void> {
  const data = await fetchDemoData();
  const { user, idleMs, kind } = readParams();
  const me = data.users.find((u) => u.user_id === user);
  if (me) startSession(data, me, idleMs, kind);
  else showPicker(data);
}

main().catch((error: unknown) => showError(error instanceof Error ? error.message : String(error)));
