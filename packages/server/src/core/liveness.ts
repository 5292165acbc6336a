import type { PresenceStatus } from '@presence/protocol';
import { DeadlineWheel } from './deadline-wheel.js';
import type { FanOut } from './fan-out.js';
import type { HeldSockets, LivenessStore } from './ports.js';
import type { ClientKind, Clients, DeviceRef, StoredCustom } from './rules.js';
import { inSlices, SLICE } from './slices.js';
import { TurnBatcher } from './turn-batcher.js';
import type { ConversationId, UserId } from './types.js';

/** What one heartbeat of a batch came to (the UDP path needs no more). */
/** One heartbeat for the store: a user's claimed status from one of its devices. */
export interface HeartbeatRequest {
  userId: UserId;
  status: PresenceStatus;
  device?: string;
  client?: ClientKind;
}

export type BatchHeartbeatResult =
  | {
      accepted: true;
      at: number;
      v: number;
      status: PresenceStatus;
      clients: Clients;
      custom: StoredCustom | null;
    }
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

/** A socket close to tell the store: when, and whether the client said goodbye. */
interface ClosedSocket {
  userId: UserId;
  device: DeviceRef;
  at: number;
  clean: boolean;
}
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
  /**
   * Open WebSockets of this process, per user and device: the devices whose liveness this process refreshes.
   */
  private readonly sockets = new Map<UserId, Map<string, { kind: ClientKind; count: number }>>();
  /** Socket closes the store has not taken yet (it failed): tried again at each refresh. */
  private undone: ClosedSocket[] = [];

  private readonly active: TurnBatcher<UserId>;

  constructor(private readonly options: LivenessOptions) {
    this.deadlines = new DeadlineWheel(options.resolutionMs);
    this.active = new TurnBatcher((userIds) => this.writeActivity(userIds), { maxBatch: ACTIVITY_BATCH });
  }

  /** Users with an open WebSocket on this process. */
  heldUsers(): UserId[] {
    return [...this.sockets.keys()];
  }

  /** Devices with an open WebSocket on this process, with how many. */
  heldSockets(): (HeldSockets & { kind: ClientKind })[] {
    const held: (HeldSockets & { kind: ClientKind })[] = [];
    for (const [userId, devices] of this.sockets)
      for (const [device, { kind, count }] of devices) held.push({ userId, device, kind, sockets: count });
    return held;
  }

  private hold(userId: UserId, device: DeviceRef, delta: 1 | -1): void {
    let devices = this.sockets.get(userId);
    if (devices === undefined) {
      if (delta < 0) return;
      devices = new Map();
      this.sockets.set(userId, devices);
    }
    const count = (devices.get(device.id)?.count ?? 0) + delta;
    if (count > 0) devices.set(device.id, { kind: device.kind, count });
    else devices.delete(device.id);
    if (devices.size === 0) this.sockets.delete(userId);
  }

  private schedule(userId: UserId, deadline: number | null): void {
    if (deadline === null) this.deadlines.cancel(userId);
    else this.deadlines.schedule(userId, deadline);
  }

  /** Many heartbeats in one store round trip; transitions are announced, deadlines scheduled. */
  async heartbeats(inputs: readonly HeartbeatRequest[]): Promise<BatchHeartbeatResult[]> {
    const at = this.options.clock();
    const outcomes = await this.options.store.heartbeat(inputs.map((input) => ({ ...input, at })));
    return outcomes.map((outcome, i): BatchHeartbeatResult => {
      if (!outcome.accepted) return outcome;
      const { userId } = inputs[i] as { userId: UserId };
      this.schedule(userId, outcome.deadline);
      if (outcome.transition) this.options.fanOut.transition(outcome.transition, at);
      const { v, status, clients, custom } = outcome;
      return { accepted: true, at, v, status, clients, custom };
    });
  }

  /**
   * A WebSocket of a device opened here; held here only once the store has counted it. When the store call
   * fails it may still have counted the socket (the reply was lost): a disconnect to retry undoes that.
   */
  async connect(userId: UserId, device: DeviceRef): Promise<void> {
    const at = this.options.clock();
    let outcome: Awaited<ReturnType<LivenessOptions['store']['connect']>>;
    try {
      outcome = await this.options.store.connect(userId, at, device);
    } catch (error) {
      this.undone.push({ userId, device, at, clean: false });
      throw error;
    }
    const { transition, deadline } = outcome;
    this.schedule(userId, deadline);
    this.hold(userId, device, 1);
    if (transition) this.options.fanOut.transition(transition, null);
  }

  /** A status chosen over an open WebSocket for its device: a change, not a heartbeat (it ends with the socket). */
  async setStatus(userId: UserId, status: 'online' | 'away', device: DeviceRef): Promise<void> {
    const at = this.options.clock();
    const { transition } = await this.options.store.setStatus(userId, status, at, device.id, device.kind);
    if (transition) this.options.fanOut.transition(transition, null);
  }

  /**
   * A WebSocket of a device closed here: the device ends after the grace unless something else keeps it.
   * `clean` when the client closed it (its last activity), not when it was cut for not answering.
   */
  async disconnect(userId: UserId, device: DeviceRef, clean: boolean): Promise<void> {
    this.hold(userId, device, -1);
    await this.disconnectInStore({ userId, device, at: this.options.clock(), clean });
  }

  /**
   * Tells the store a socket closed. A failure is kept and tried again at each refresh: the refresh states
   * only the sockets still held, so a count the store kept for a closed socket would hold its device forever.
   */
  private async disconnectInStore(closed: ClosedSocket): Promise<void> {
    const { userId, device, at, clean } = closed;
    try {
      const { deadline } = await this.options.store.disconnect(userId, at, clean, device.id);
      if (deadline !== null) this.deadlines.schedule(userId, deadline);
    } catch (error) {
      this.undone.push(closed);
      throw error;
    }
  }

  /** Closes that failed to reach the store, tried again; what fails again waits for the next refresh. */
  private async retryDisconnects(): Promise<void> {
    for (const closed of this.undone.splice(0)) {
      await this.disconnectInStore(closed).catch((error) => this.options.onError(error, 'disconnect retry'));
    }
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
    for (const { userId, device, kind, sockets } of this.heldSockets()) {
      for (let i = 0; i < sockets; i++) {
        const { transition } = await this.options.store.connect(userId, at, { id: device as string, kind });
        if (transition) this.options.fanOut.transition(transition, null);
      }
    }
  }

  /** Expires the users whose local deadline has passed (the fast path). */
  async tick(now: number): Promise<void> {
    await this.expireAll(this.deadlines.due(now), now);
  }

  /** Expires users whose last liveness signal is older than the timeout, wherever they were held. */
  async sweep(now: number): Promise<number> {
    const { store } = this.options;
    const stale = await store.staleUsers(now - store.rules.presenceTimeoutMs, SWEEP_LIMIT);
    await this.expireAll(stale, now);
    return stale.length;
  }

  /**
   * Refreshes the liveness of every device holding a WebSocket here, with the number of sockets held, and
   * expires the users whose other devices are past their deadline (whoever watched those may have died).
   */
  async refresh(now: number): Promise<void> {
    await this.retryDisconnects();
    const due = await this.options.store.touch(this.heldSockets(), now);
    await this.expireAll(due, now);
  }

  /** Expires users whose hot state vanished (stale cleanup). */
  async cleanup(now: number): Promise<number> {
    const orphans = await this.options.store.cleanup(now);
    await this.expireAll(orphans, now);
    return orphans.length;
  }

  /** Lets go of every socket held here without announcing anything (graceful shutdown). */
  async detach(now: number): Promise<void> {
    await this.options.store.detach(this.heldSockets(), now);
    this.sockets.clear();
  }

  /** Expires many users a slice at a time, yielding between slices: a mass timeout never stalls the loop. */
  private expireAll(userIds: readonly UserId[], now: number): Promise<void> {
    return inSlices(userIds, SLICE, (userId) => this.expire(userId, now));
  }

  private async expire(userId: UserId, now: number): Promise<void> {
    try {
      const outcome = await this.options.store.expire(userId, now);
      if (outcome.transition) this.options.fanOut.transition(outcome.transition, null);
      if (outcome.deadline !== null) this.deadlines.schedule(userId, outcome.deadline);
      if (outcome.stoppedTyping.length > 0) this.options.onTypingEnded(userId, outcome.stoppedTyping);
    } catch (error) {
      this.deadlines.schedule(userId, now + EXPIRE_RETRY_MS);
      this.options.onError(error, 'expire');
    }
  }
}
