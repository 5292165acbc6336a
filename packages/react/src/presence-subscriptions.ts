import type { PresenceClient, UserPresence } from '@presence/client';

/** The part of the client the subscriptions read; a `PresenceClient` fits. */
export type PresenceSource = Pick<PresenceClient, 'on' | 'get' | 'typingIn' | 'userId'>;

type Listener = () => void;

const NO_ONE: readonly number[] = Object.freeze([]);

function samePresence(a: UserPresence | undefined, b: UserPresence | undefined): boolean {
  if (a === b) return true;
  if (!a || !b) return false;
  return (
    a.user_id === b.user_id &&
    a.status === b.status &&
    a.last_seen === b.last_seen &&
    a.v === b.v &&
    a.custom?.text === b.custom?.text &&
    a.custom?.emoji === b.custom?.emoji &&
    a.custom?.expires_at === b.custom?.expires_at
  );
}

function sameIds(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((id, i) => id === b[i]);
}

/**
 * The client's events split per user and per conversation, with snapshots that keep their identity until
 * their content changes: the two things `useSyncExternalStore` needs so that a component re-renders only
 * when what it reads has changed. The React hooks sit on top; this part knows nothing of React.
 *
 * @example
 * const subscriptions = new PresenceSubscriptions(client);
 * const off = subscriptions.subscribeUser(42, () => render(subscriptions.presence(42)));
 * off();
 */
export class PresenceSubscriptions {
  readonly #client: PresenceSource;
  readonly #userListeners = new Map<number, Set<Listener>>();
  readonly #typingListeners = new Map<number, Set<Listener>>();
  /** The snapshot last handed out per user, so that an equal value keeps its identity. */
  readonly #presence = new Map<number, UserPresence | undefined>();
  readonly #typing = new Map<number, readonly number[]>();
  #offClient: (() => void) | null = null;

  constructor(client: PresenceSource) {
    this.#client = client;
  }

  /**
   * The user's presence as the client knows it; the same object as long as it has not changed.
   *
   * @example
   * subscriptions.presence(42); // { user_id: 42, status: 'away', last_seen: '…', v: 17 } or undefined
   */
  presence(userId: number): UserPresence | undefined {
    const held = this.#presence.get(userId);
    const fresh = this.#client.get(userId);
    if (samePresence(held, fresh)) return held;
    this.#presence.set(userId, fresh);
    return fresh;
  }

  /**
   * Ids of the other users typing in a conversation, in the order they started; the same array as long
   * as it has not changed. The signed-in user is left out: the server tells every participant, the
   * typist included, and nobody needs to be shown that they themselves are typing.
   *
   * @example
   * subscriptions.typing(7); // [42]
   */
  typing(conversationId: number): readonly number[] {
    const me = this.#client.userId;
    const fresh = this.#client.typingIn(conversationId).filter((id) => id !== me);
    const held = this.#typing.get(conversationId);
    if (held && sameIds(held, fresh)) return held;
    const next = fresh.length === 0 ? NO_ONE : fresh;
    this.#typing.set(conversationId, next);
    return next;
  }

  /**
   * Calls `listener` when the user's presence changes, and only then. Returns the unsubscribe function.
   *
   * @example
   * const off = subscriptions.subscribeUser(42, () => console.log(subscriptions.presence(42)?.status));
   */
  subscribeUser(userId: number, listener: Listener): () => void {
    return this.#add(this.#userListeners, userId, listener, this.#presence);
  }

  /**
   * Calls `listener` when any of the users' presence changes; one call per change.
   *
   * @example
   * const off = subscriptions.subscribeUsers([1, 2, 3], () => rerender());
   */
  subscribeUsers(userIds: readonly number[], listener: Listener): () => void {
    const offs = [...new Set(userIds)].map((id) => this.subscribeUser(id, listener));
    return () => {
      for (const off of offs) off();
    };
  }

  /**
   * Calls `listener` when someone starts or stops typing in the conversation.
   *
   * @example
   * const off = subscriptions.subscribeTyping(7, () => console.log(subscriptions.typing(7)));
   */
  subscribeTyping(conversationId: number, listener: Listener): () => void {
    return this.#add(this.#typingListeners, conversationId, listener, this.#typing);
  }

  /** Whether the client's events are being listened to: only while someone has subscribed. */
  get listening(): boolean {
    return this.#offClient !== null;
  }

  #add<V>(
    listeners: Map<number, Set<Listener>>,
    id: number,
    listener: Listener,
    snapshots: Map<number, V>,
  ): () => void {
    let set = listeners.get(id);
    if (!set) {
      set = new Set();
      listeners.set(id, set);
    }
    set.add(listener);
    this.#listen();
    return () => {
      if (!set.delete(listener) || set.size > 0) return;
      listeners.delete(id);
      // Nobody reads this id any more; the next reader starts from the client's current value.
      snapshots.delete(id);
      if (this.#userListeners.size === 0 && this.#typingListeners.size === 0) this.#stopListening();
    };
  }

  /** Listens to the client only while somebody listens here: an unused provider leaves no listener behind. */
  #listen(): void {
    if (this.#offClient) return;
    const offs = [
      this.#client.on('status', (change) => this.#notify(this.#userListeners, change.user_id)),
      this.#client.on('typing', (change) => this.#notify(this.#typingListeners, change.conversation_id)),
      // A re-sync drops users who are no longer visible without a status event for them.
      this.#client.on('snapshot', () => this.#notifyDropped()),
    ];
    this.#offClient = () => {
      for (const off of offs) off();
    };
  }

  #stopListening(): void {
    this.#offClient?.();
    this.#offClient = null;
  }

  #notifyDropped(): void {
    for (const id of [...this.#userListeners.keys()]) {
      if (this.#presence.get(id) !== undefined && this.#client.get(id) === undefined) {
        this.#notify(this.#userListeners, id);
      }
    }
  }

  #notify(listeners: Map<number, Set<Listener>>, id: number): void {
    const set = listeners.get(id);
    if (!set) return;
    // A copy: a listener may unsubscribe while we iterate (a component unmounting in a synchronous render).
    for (const listener of [...set]) listener();
  }
}
