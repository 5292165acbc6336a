import type { PresenceStatus } from '@presence/protocol';
import type { Redis } from 'ioredis';
import type { DeviceState, UserState } from '../../core/rules.js';
import type { UserId } from '../../core/types.js';
import { countedDevice, packDevice, parseDevice } from './devices.js';
import type { RedisKeys } from './keys.js';
import { optionalNumber as num, pipeline } from './replies.js';
import { queueScript } from './scripts.js';

/** The restore script's answer when it wrote a state (not only moved times). */
const STATE_WRITTEN = 2;

/** Whole user states read from and written to the user hashes, outside any liveness decision. */
export class RedisUserStates {
  constructor(
    private readonly redis: Redis,
    private readonly keys: RedisKeys,
    private readonly ttlSeconds: number,
  ) {}

  async getMany(userIds: readonly UserId[]): Promise<Map<UserId, UserState>> {
    const found = new Map<UserId, UserState>();
    if (userIds.length === 0) return found;
    const replies = await pipeline(this.redis, (pipe) => {
      for (const userId of userIds) pipe.hgetall(this.keys.user(userId));
    });
    replies.forEach((reply, i) => {
      const state = parseUserHash(reply as Record<string, string>);
      if (state !== null) found.set(userIds[i] as UserId, state);
    });
    return found;
  }

  async fill(states: ReadonlyMap<UserId, UserState>): Promise<void> {
    if (states.size === 0) return;
    await pipeline(this.redis, (pipe) => {
      for (const [userId, state] of states) {
        const devices = Object.entries(state.devices).flatMap(([id, d]) => [id, packDevice(d)]);
        queueScript(
          pipe,
          'fill',
          [this.keys.user(userId)],
          [
            state.status,
            state.lastSeen ?? '',
            state.lastHeartbeat ?? '',
            this.ttlSeconds,
            state.v,
            ...devices.slice(0, 2),
          ],
        );
      }
    });
  }

  async scanOnline(
    cursor: string,
    count: number,
  ): Promise<{ cursor: string; states: Map<UserId, UserState> }> {
    const [next, flat] = await this.redis.zscan(this.keys.online, cursor, 'COUNT', count);
    const ids: UserId[] = [];
    for (let i = 0; i < flat.length; i += 2) ids.push(Number(flat[i]));
    return { cursor: next, states: await this.getMany(ids) };
  }

  countOnline(): Promise<number> {
    return this.redis.zcard(this.keys.online);
  }

  /**
   * Writes state learned elsewhere (degraded mode's local store): the later version wins, times only move
   * forward. Socket counts are not restored: the caller connects its held sockets again. Returns the users
   * whose state was written (their changes are news to every other process).
   */
  async restore(states: ReadonlyMap<UserId, UserState>, processId: string): Promise<UserId[]> {
    if (states.size === 0) return [];
    const replies = await pipeline(this.redis, (pipe) => {
      for (const [userId, s] of states) {
        queueScript(
          pipe,
          'restore',
          [this.keys.user(userId), this.keys.online, this.keys.processes],
          [
            userId,
            s.status,
            s.lastSeen ?? '',
            s.lastHeartbeat ?? '',
            this.ttlSeconds,
            liveness(s),
            s.v,
            processId,
            ...Object.entries(s.devices).flatMap(([id, d]) => [id, packDevice(d)]),
          ],
        );
      }
    });
    const ids = [...states.keys()];
    return ids.filter((_, i) => replies[i] === STATE_WRITTEN);
  }
}

/** The last liveness signal of a state: its online score. */
function liveness(s: UserState): number {
  let last = Math.max(s.lastHeartbeat ?? 0, s.lastSeen ?? 0);
  for (const d of Object.values(s.devices)) last = Math.max(last, d.lastHeartbeat ?? 0, d.lastSocket ?? 0);
  return last;
}

/** Socket counts are summed as stored: the scripts drop those of dead processes when they next load the hash. */
function parseUserHash(hash: Record<string, string>): UserState | null {
  if (hash.status === undefined) return null;
  const counts = new Map<string, number>();
  for (const [field, value] of Object.entries(hash)) {
    const device = countedDevice(field);
    if (device !== null) counts.set(device, (counts.get(device) ?? 0) + (Number(value) || 0));
  }
  const devices: Record<string, DeviceState> = {};
  for (const [field, value] of Object.entries(hash)) {
    if (!field.startsWith('d:')) continue;
    const id = field.slice(2);
    devices[id] = parseDevice(value, counts.get(id) ?? 0);
  }
  return {
    status: hash.status as PresenceStatus,
    lastSeen: num(hash.last_seen),
    lastHeartbeat: num(hash.hb),
    v: Number(hash.v ?? 0),
    devices,
  };
}
