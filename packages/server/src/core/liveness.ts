import type { PresenceStatus } from '@presence/protocol';
import { DeadlineWheel } from './deadline-wheel.js';
import type { FanOut } from './fan-out.js';
import type { HeldSockets, LivenessStore } from './ports.js';
import { TurnBatcher } from './turn-batcher.js';
import type { ConversationId, UserId } from './types.js';

/** What one heartbeat of a batch came to (the UDP path needs no more). */
export type BatchHeartbeatResult =
  | { accepted: true; at: number; v: number }
  | { accepted: false; retryAfterMs: number };

export interface LivenessOptions {
  store: LivenessStore;
  fanOut: FanOut;
  clock: () => number;
  resolutionMs: number;
  /** Typing that ended because its user went offline. */
  onTypingEnded: (userId: UserId, conversationIds: readonly ConversationId[]) => void;
  onError: (error: unknown, context: string) => void;
}

/** Users per activity write at most. */
const ACTIVITY_BATCH = 5_000;
/** Batch size of the crash-safe sweep. */
const SWEEP_LIMIT = 5_000;
/** A failed expiry is tried again this much later rather than lost. */
const EXPIRE_RETRY_MS = 1_000;

/**
 * Who is live: heartbeats, this process's WebSockets, and the two paths to offline (a timer wheel of the
 * deadlines this process knows, and the crash-safe sweep over the store). Every decision is the store's,
 * atomic, so exactly one process announces each transition.
 */
export class Liveness {
  private readonly deadlines: DeadlineWheel<UserId>;
  /** Open WebSockets of this process, per user: the users whose liveness this process refreshes. */
  private readonly sockets = new Map<UserId, number>();

  private readonly active: TurnBatcher<UserId>;

  constructor(private readonly options: LivenessOptions) {
    this.deadlines = new DeadlineWheel(options.resolutionMs);
    this.active = new TurnBatcher((userIds) => this.writeActivity(userIds), { maxBatch: ACTIVITY_BATCH });
  }

  /** Users with an open WebSocket on this process. */
  heldUsers(): UserId[] {
    return [...this.sockets.keys()];
  }

  /** Users with an open WebSocket on this process, with how many. */
  heldSockets(): HeldSockets[] {
    return [...this.sockets].map(([userId, sockets]) => ({ userId, sockets }));
  }

  /** Many heartbeats in one store round trip; transitions are announced, deadlines scheduled. */
  async heartbeats(
    inputs: ReadonlyArray<{ userId: UserId; status: PresenceStatus }>,
  ): Promise<BatchHeartbeatResult[]> {
    const at = this.options.clock();
    const outcomes = await this.options.store.heartbeat(
      inputs.map(({ userId, status }) => ({ userId, status, at })),
    );
    return outcomes.map((outcome, i): BatchHeartbeatResult => {
      if (!outcome.accepted) return outcome;
      const { userId } = inputs[i] as { userId: UserId };
      if (outcome.deadline === null) this.deadlines.cancel(userId);
      else this.deadlines.schedule(userId, outcome.deadline);
      if (outcome.transition) this.options.fanOut.transition(outcome.transition, at);
      return { accepted: true, at, v: outcome.v };
    });
  }

  /** A WebSocket of this process opened for the user; held here only once the store has counted it. */
  async connect(userId: UserId): Promise<void> {
    const { transition } = await this.options.store.connect(userId, this.options.clock());
    this.deadlines.cancel(userId);
    this.sockets.set(userId, (this.sockets.get(userId) ?? 0) + 1);
    if (transition) this.options.fanOut.transition(transition, null);
  }

  /** A status chosen over an open WebSocket: a change of status, not a heartbeat (presence ends with the socket). */
  async setStatus(userId: UserId, status: 'online' | 'away'): Promise<void> {
    const { transition } = await this.options.store.setStatus(userId, status, this.options.clock());
    if (transition) this.options.fanOut.transition(transition, null);
  }

  /**
   * A WebSocket of this process closed: offline after the grace unless something else keeps the user live.
   * `clean` when the client closed it (its last activity), not when it was cut for not answering.
   */
  async disconnect(userId: UserId, clean: boolean): Promise<void> {
    const left = (this.sockets.get(userId) ?? 1) - 1;
    if (left > 0) this.sockets.set(userId, left);
    else this.sockets.delete(userId);
    const { deadline } = await this.options.store.disconnect(userId, this.options.clock(), clean);
    if (deadline !== null) this.deadlines.schedule(userId, deadline);
  }

  /** Activity over a socket (a frame, a pong): collected per turn and written as one batch. */
  activity(userId: UserId): void {
    this.active.add(userId);
  }

  private writeActivity(userIds: UserId[]): void {
    this.options.store
      .activity([...new Set(userIds)], this.options.clock())
      .catch((error) => this.options.onError(error, 'activity'));
  }

  /**
   * Connects every socket held here again, after the hot store lost track of them (it came back from an
   * outage): counts start afresh, and a user some other process took offline meanwhile comes back online.
   */
  async reconnectHeld(): Promise<void> {
    const at = this.options.clock();
    // The sockets held now: one that connects meanwhile is counted by its own connect.
    for (const [userId, count] of [...this.sockets]) {
      for (let i = 0; i < count; i++) {
        const { transition } = await this.options.store.connect(userId, at);
        if (transition) this.options.fanOut.transition(transition, null);
      }
    }
  }

  /** Expires the users whose local deadline has passed (the fast path). */
  async tick(now: number): Promise<void> {
    const due = this.deadlines.due(now);
    if (due.length > 0) await Promise.all(due.map((userId) => this.expire(userId, now)));
  }

  /** Expires users whose last liveness signal is older than the timeout, wherever they were held. */
  async sweep(now: number): Promise<number> {
    const { store } = this.options;
    const stale = await store.staleUsers(now - store.rules.presenceTimeoutMs, SWEEP_LIMIT);
    await Promise.all(stale.map((userId) => this.expire(userId, now)));
    return stale.length;
  }

  /** Refreshes the liveness of every user holding a WebSocket here, with the number of sockets held. */
  async refresh(now: number): Promise<void> {
    await this.options.store.touch(this.heldSockets(), now);
  }

  /** Expires users whose hot state vanished (stale cleanup). */
  async cleanup(now: number): Promise<number> {
    const orphans = await this.options.store.cleanup(now);
    await Promise.all(orphans.map((userId) => this.expire(userId, now)));
    return orphans.length;
  }

  /** Lets go of every socket held here without announcing anything (graceful shutdown). */
  async detach(now: number): Promise<void> {
    await this.options.store.detach(this.heldUsers(), now);
    this.sockets.clear();
  }

  private async expire(userId: UserId, now: number): Promise<void> {
    try {
      const outcome = await this.options.store.expire(userId, now);
      if (outcome.transition) this.options.fanOut.transition(outcome.transition, null);
      else if (outcome.deadline !== null && !this.sockets.has(userId))
        this.deadlines.schedule(userId, outcome.deadline);
      if (outcome.stoppedTyping.length > 0) this.options.onTypingEnded(userId, outcome.stoppedTyping);
    } catch (error) {
      this.deadlines.schedule(userId, now + EXPIRE_RETRY_MS);
      this.options.onError(error, 'expire');
    }
  }
}
