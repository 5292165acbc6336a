// The page the browser test drives: the bindings on the real SDK against a real server. Every component
// shows how often it has rendered (`data-probe` names it, `data-renders` counts), so the test can tell which
// ones a change reached.
import { PresenceClient, type PresenceClientOptions } from '@presence/client';
import { createElement as h, useEffect, useRef, useState } from 'react';
import { createRoot } from 'react-dom/client';
import {
  PresenceProvider,
  usePresence,
  usePresenceClient,
  usePresenceList,
  useTyping,
} from '../../src/index.js';

declare global {
  interface Window {
    /** The provider's client, for the test to inspect. */
    presenceClient?: PresenceClient;
  }
}

const query = new URLSearchParams(location.search);
const number = (name: string): number => {
  const value = Number(query.get(name));
  if (!Number.isInteger(value) || value <= 0) throw new Error(`?${name}= must be a positive integer`);
  return value;
};
const watched = number('watch');
const other = number('other');
const conversation = number('conversation');
const options: PresenceClientOptions = {
  url: location.origin,
  token: query.get('token') ?? '',
  idle: false,
  typing: { silenceMs: number('silence') },
};

function useRenderCount(): number {
  const renders = useRef(0);
  renders.current += 1;
  return renders.current;
}

function Watch({ userId }: { userId: number }) {
  const presence = usePresence(userId);
  const renders = useRenderCount();
  const status = presence?.status ?? 'unknown';
  const probe = { 'data-probe': `watch-${userId}`, 'data-renders': renders };
  return h('li', { ...probe, 'data-watch': userId, 'data-status': status }, `${userId}: ${status}`);
}

function Both({ userIds }: { userIds: number[] }) {
  const presences = usePresenceList(userIds);
  const renders = useRenderCount();
  const statuses = presences.map((p) => p?.status ?? 'unknown').join(',');
  return h(
    'li',
    { id: 'list', 'data-probe': 'list', 'data-statuses': statuses, 'data-renders': renders },
    statuses,
  );
}

function Composer({ conversationId }: { conversationId: number }) {
  const { typing, notifyTyping } = useTyping(conversationId);
  const renders = useRenderCount();
  return h(
    'div',
    null,
    h(
      'p',
      {
        id: 'typists',
        'data-probe': 'typists',
        'data-typists': typing.join(',') || 'nobody',
        'data-renders': renders,
      },
      typing.join(', '),
    ),
    h('input', { 'aria-label': 'Message', onInput: notifyTyping }),
  );
}

/** Holds its own toggle, so closing the composer re-renders nothing else. */
function ComposerSlot() {
  const [open, setOpen] = useState(true);
  return h(
    'div',
    null,
    h('button', { type: 'button', onClick: () => setOpen(false) }, 'Close composer'),
    open ? h(Composer, { conversationId: conversation }) : null,
  );
}

function ExposeClient() {
  const client = usePresenceClient();
  useEffect(() => {
    window.presenceClient = client;
  }, [client]);
  return null;
}

function App({ given }: { given: PresenceClient | undefined }) {
  const [mounted, setMounted] = useState(true);
  const tree = [
    h(ExposeClient, { key: 'expose' }),
    h(
      'ul',
      { key: 'users' },
      h(Watch, { userId: watched }),
      h(Watch, { userId: other }),
      h(Both, { userIds: [watched, other] }),
    ),
    h(ComposerSlot, { key: 'composer' }),
  ];
  const provider = given
    ? h(PresenceProvider, { client: given }, tree)
    : h(PresenceProvider, { options }, tree);
  return h(
    'main',
    null,
    h('button', { type: 'button', onClick: () => setMounted(false) }, 'Unmount provider'),
    mounted ? provider : h('p', { id: 'unmounted' }, 'unmounted'),
  );
}

// `?mode=client`: the page makes and connects the client and hands it over; otherwise the provider makes it.
let given: PresenceClient | undefined;
if (query.get('mode') === 'client') {
  given = new PresenceClient(options);
  void given.connect();
}
const root = document.getElementById('root');
if (!root) throw new Error('no #root');
createRoot(root).render(h(App, { given }));
