import type { HeldSockets, PresenceDurable, PresenceReads } from './ports.js';
import type { PresenceWriter } from './presence-writer.js';
import { type ClientKind, clientsOf, DEFAULT_DEVICE, nextVersion, type UserState } from './rules.js';
import { nextTurn } from './slices.js';
import type { PresenceRecord, UserId } from './types.js';

/** Users per page of the bulk sync. */
const SYNC_PAGE = 5_000;

const recordOf = (userId: UserId, s: UserState): PresenceRecord => ({
  userId,
  status: s.status,
  lastSeen: s.lastSeen,
  lastHeartbeat: s.lastHeartbeat,
  v: s.v,
  clients: clientsOf(s.devices),
  custom: s.custom ?? null,
});

export interface PersistenceOptions {
  store: PresenceReads & { readonly ephemeral: boolean };
  durable: Pick<PresenceDurable, 'ensureUsers' | 'upsertPresences'>;
  writer: PresenceWriter;
  clock: () => number;
}

/**
 * The durable record beside the hot state: users created on first sight, the bulk sync of last-seen times
 * (they move on every heartbeat and are written here only), and what shutdown must persist.
 */
export class Persistence {
  private readonly knownUsers = new Set<UserId>();

  constructor(private readonly options: PersistenceOptions) {}

  /** Creates users seen for the first time (a valid token is enough to exist). */
  async ensureUsers(ids: readonly UserId[]): Promise<void> {
    const unknown = ids.filter((id) => !this.knownUsers.has(id));
    if (unknown.length === 0) return;
    await this.options.durable.ensureUsers(unknown);
    this.known(unknown);
  }

  /** Users the durable record is known to hold. */
  known(ids: readonly UserId[]): void {
    for (const id of ids) this.knownUsers.add(id);
  }

  /** Writes the hot state of every user not offline to the durable record; returns how many. */
  async syncToDatabase(pageSize = SYNC_PAGE): Promise<number> {
    let written = 0;
    await this.eachOnline(pageSize, async (records) => {
      await this.options.durable.upsertPresences(records);
      written += records.length;
    });
    return written;
  }

  /**
   * Persists what shutdown would otherwise lose: with ephemeral hot state, every user, as offline (that state
   * dies with the process); else the users held here, as they are.
   */
  async persistForShutdown(held: readonly UserId[]): Promise<void> {
    const { store, writer } = this.options;
    const records: PresenceRecord[] = [];
    if (store.ephemeral) {
      // A change like any other: offline gets a version of its own, or the durable record would keep the old.
      const now = this.options.clock();
      await this.eachOnline(10_000, async (page) => {
        for (const r of page) records.push({ ...r, status: 'offline', v: nextVersion(r.v, now) });
      });
    } else if (held.length > 0) {
      for (const [userId, s] of await store.getMany(held)) records.push(recordOf(userId, s));
    }
    if (records.length > 0) await writer.write(records).catch(() => {});
    await writer.flush().catch(() => {});
  }

  private async eachOnline(
    pageSize: number,
    each: (records: PresenceRecord[]) => Promise<void>,
  ): Promise<void> {
    let cursor = '0';
    do {
      const page = await this.options.store.scanOnline(cursor, pageSize);
      cursor = page.cursor;
      const records = [...page.states].map(([userId, s]) => recordOf(userId, s));
      if (records.length > 0) await each(records);
      // An in-process store answers within the turn: give sockets theirs between pages.
      if (cursor !== '0') await nextTurn();
    } while (cursor !== '0');
  }
}

/**
 * The users of the sockets held here as a stand-in store should show them when an outage of the shared one
 * begins: live on the devices held, with the durable record's status, times and version.
 */
export function heldStates(
  held: readonly (HeldSockets & { kind: ClientKind })[],
  records: ReadonlyMap<UserId, PresenceRecord>,
  now: number,
): Map<UserId, UserState> {
  const states = new Map<UserId, UserState>();
  for (const { userId, device, kind, sockets } of held) {
    const record = records.get(userId);
    const devices = { ...states.get(userId)?.devices };
    devices[device ?? DEFAULT_DEVICE] = {
      status: 'online',
      kind,
      lastHeartbeat: null,
      lastSocket: now,
      lastDisconnect: null,
      connections: sockets,
    };
    states.set(userId, {
      status: record && record.status !== 'offline' ? record.status : 'online',
      lastSeen: record?.lastSeen ?? now,
      lastHeartbeat: record?.lastHeartbeat ?? null,
      v: record?.v ?? 0,
      devices,
      custom: record?.custom ?? null,
    });
  }
  return states;
}
