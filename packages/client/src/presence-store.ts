import type { Clients, CustomStatus, TypingMessage, UserPresence } from '@presence/protocol';

/** A change of one user's presence. `previous` is null the first time the client hears of the user. */
export interface StatusEvent extends UserPresence {
  previous: UserPresence | null;
}

/** Someone started or stopped typing in a conversation. */
export type TypingEvent = Omit<TypingMessage, 'type'>;

function samePresence(a: UserPresence, b: UserPresence): boolean {
  return (
    a.status === b.status &&
    a.last_seen === b.last_seen &&
    a.v === b.v &&
    sameClients(a.clients, b.clients) &&
    sameCustom(a.custom, b.custom)
  );
}

function sameCustom(a: CustomStatus | null, b: CustomStatus | null): boolean {
  if (a === null || b === null) return a === b;
  return a.text === b.text && a.emoji === b.emoji && a.expires_at === b.expires_at;
}

function sameClients(a: Clients, b: Clients): boolean {
  return a.web === b.web && a.mobile === b.mobile && a.desktop === b.desktop;
}

/**
 * The presence of every visible user and who types where. Plain data and synchronous methods that
 * return the changes they made: the client owns the socket and the events, so this stays easy to test.
 *
 * @example
 * const store = new PresenceStore();
 * store.applySnapshot([{ user_id: 1, status: 'online', last_seen: null, v: 7 }]); // [{ …, previous: null }]
 * store.applyStatus({ user_id: 1, status: 'away', last_seen: null, v: 6 }); // null: older than what it holds
 */
export class PresenceStore {
  readonly #users = new Map<number, UserPresence>();
  /** conversation id to the users typing there */
  readonly #typing = new Map<number, Set<number>>();

  get(userId: number): UserPresence | undefined {
    return this.#users.get(userId);
  }

  list(): UserPresence[] {
    return [...this.#users.values()];
  }

  typingIn(conversationId: number): number[] {
    return [...(this.#typing.get(conversationId) ?? [])];
  }

  isTyping(userId: number, conversationId: number): boolean {
    return this.#typing.get(conversationId)?.has(userId) ?? false;
  }

  /** Drops these users (no longer watched): their presence would otherwise go stale unseen. */
  forget(userIds: Iterable<number>): void {
    for (const id of userIds) this.#users.delete(id);
  }

  /**
   * Replaces everything with a snapshot. After a reconnect this is the re-sync: users whose presence moved
   * while the socket was down come back as changes, and users no longer visible are dropped.
   */
  applySnapshot(users: readonly UserPresence[]): StatusEvent[] {
    const changes: StatusEvent[] = [];
    const seen = new Set<number>();
    for (const user of users) {
      seen.add(user.user_id);
      const change = this.applyStatus(user);
      if (change) changes.push(change);
    }
    for (const id of this.#users.keys()) {
      if (!seen.has(id)) this.#users.delete(id);
    }
    return changes;
  }

  /**
   * Applies a presence unless the store holds a newer one: frames about one user may arrive in any order
   * (several server processes), and the larger version is the truth.
   */
  applyStatus(user: UserPresence): StatusEvent | null {
    const previous = this.#users.get(user.user_id) ?? null;
    if (previous && (user.v < previous.v || samePresence(previous, user))) return null;
    const next: UserPresence = {
      user_id: user.user_id,
      status: user.status,
      last_seen: user.last_seen,
      v: user.v,
      clients: { ...user.clients },
      custom: user.custom && { ...user.custom },
    };
    this.#users.set(user.user_id, next);
    return { ...next, previous };
  }

  applyTyping(event: TypingEvent): TypingEvent | null {
    const { user_id, conversation_id, is_typing } = event;
    let typers = this.#typing.get(conversation_id);
    if (is_typing) {
      if (typers?.has(user_id)) return null;
      if (!typers) {
        typers = new Set();
        this.#typing.set(conversation_id, typers);
      }
      typers.add(user_id);
    } else {
      if (!typers?.delete(user_id)) return null;
      if (typers.size === 0) this.#typing.delete(conversation_id);
    }
    return { user_id, conversation_id, is_typing };
  }

  /**
   * Forgets the typing of one user. Used when the user goes offline for this client (a block says so without a
   * typing stop), since an offline user types nowhere.
   *
   * @example
   * store.applyTyping({ user_id: 2, conversation_id: 9, is_typing: true });
   * store.clearTypingOf(2); // [{ user_id: 2, conversation_id: 9, is_typing: false }]
   */
  clearTypingOf(userId: number): TypingEvent[] {
    const cleared: TypingEvent[] = [];
    for (const [conversation_id, typers] of this.#typing) {
      if (!typers.delete(userId)) continue;
      cleared.push({ user_id: userId, conversation_id, is_typing: false });
      if (typers.size === 0) this.#typing.delete(conversation_id);
    }
    return cleared;
  }

  /** Forgets all typing. Used when the socket drops: the stop frames sent meanwhile are lost. */
  clearTyping(): TypingEvent[] {
    const cleared: TypingEvent[] = [];
    for (const [conversation_id, typers] of this.#typing) {
      for (const user_id of typers) cleared.push({ user_id, conversation_id, is_typing: false });
    }
    this.#typing.clear();
    return cleared;
  }
}
