import type { PresenceStatus } from '@presence/protocol';
import { customKey, parseCustom } from '../../core/custom-rules.js';
import type { DeviceState, UserState } from '../../core/rules.js';
import type { UserId } from '../../core/types.js';
import { countedDevice, packDevice, parseDevice } from './devices.js';
import { allShards, type RedisKeys } from './keys.js';
import { byShard, optionalNumber as num, pipelines, type RedisClient } from './replies.js';
import { queueScript } from './scripts.js';
import type { ShardNodes } from './shard-nodes.js';

/** The restore script's answer when it wrote a state (not only moved times). */
const STATE_WRITTEN = 2;

/**
 * Whole user states read from and written to the user hashes, outside any liveness decision. Batches go out as
 * one pipeline per shard (one on a single Redis).
 */
export class RedisUserStates {
  constructor(
    private readonly redis: RedisClient,
    private readonly keys: RedisKeys,
    private readonly ttlSeconds: number,
    private readonly nodes: ShardNodes,
  ) {}

  async getMany(userIds: readonly UserId[]): Promise<Map<UserId, UserState>> {
    const found = new Map<UserId, UserState>();
    if (userIds.length === 0) return found;
    const shards = this.byShard(userIds);
    const replies = await pipelines(
      this.redis,
      shards,
      (pipe, { items }) => {
        for (const userId of items) pipe.hgetall(this.keys.user(userId));
      },
      this.nodes.of,
    );
    shards.forEach(({ items }, s) => {
      items.forEach((userId, i) => {
        const state = parseUserHash((replies[s] as unknown[])[i] as Record<string, string>);
        if (state !== null) found.set(userId, state);
      });
    });
    return found;
  }

  async fill(states: ReadonlyMap<UserId, UserState>): Promise<void> {
    if (states.size === 0) return;
    await pipelines(
      this.redis,
      this.byShard([...states.keys()]),
      (pipe, { shard, items }) => {
        for (const userId of items) {
          const state = states.get(userId) as UserState;
          const devices = Object.entries(state.devices).flatMap(([id, d]) => [id, packDevice(d)]);
          queueScript(
            pipe,
            'fill',
            [this.keys.user(userId), this.keys.customDue(shard)],
            [
              userId,
              state.status,
              state.lastSeen ?? '',
              state.lastHeartbeat ?? '',
              this.ttlSeconds,
              state.v,
              customKey(state.custom ?? null),
              state.custom?.expiresAt ?? '',
              ...devices.slice(0, 2),
            ],
          );
        }
      },
      this.nodes.of,
    );
  }

  /** On a cluster the cursor is `{shard}:{cursor in that shard}`, the shards walked one after the other. */
  async scanOnline(
    cursor: string,
    count: number,
  ): Promise<{ cursor: string; states: Map<UserId, UserState> }> {
    const sharded = this.keys.shards > 1;
    let shard = 0;
    let inner = cursor;
    if (sharded && cursor !== '0') {
      const at = cursor.indexOf(':');
      shard = Number(cursor.slice(0, at));
      inner = cursor.slice(at + 1);
    }
    const [next, flat] = await this.redis.zscan(this.keys.online(shard), inner, 'COUNT', count);
    const ids: UserId[] = [];
    for (let i = 0; i < flat.length; i += 2) ids.push(Number(flat[i]));
    let following = '0';
    if (next !== '0') following = sharded ? `${shard}:${next}` : next;
    else if (shard + 1 < this.keys.shards) following = `${shard + 1}:0`;
    return { cursor: following, states: await this.getMany(ids) };
  }

  async countOnline(): Promise<number> {
    const counts = await Promise.all(
      allShards(this.keys).map((shard) => this.redis.zcard(this.keys.online(shard))),
    );
    return counts.reduce((sum, n) => sum + n, 0);
  }

  /**
   * Writes state learned elsewhere (degraded mode's local store): the later version wins, times only move
   * forward. Socket counts are not restored: the caller connects its held sockets again. Returns the users
   * whose state was written (their changes are news to every other process).
   */
  async restore(states: ReadonlyMap<UserId, UserState>, processId: string): Promise<UserId[]> {
    if (states.size === 0) return [];
    const shards = this.byShard([...states.keys()]);
    const replies = await pipelines(
      this.redis,
      shards,
      (pipe, { shard, items }) => {
        for (const userId of items) {
          const s = states.get(userId) as UserState;
          queueScript(
            pipe,
            'restore',
            [
              this.keys.user(userId),
              this.keys.online(shard),
              this.keys.processes(shard),
              this.keys.customDue(shard),
            ],
            [
              userId,
              s.status,
              s.lastSeen ?? '',
              s.lastHeartbeat ?? '',
              this.ttlSeconds,
              liveness(s),
              s.v,
              processId,
              customKey(s.custom ?? null),
              s.custom?.expiresAt ?? '',
              ...Object.entries(s.devices).flatMap(([id, d]) => [id, packDevice(d)]),
            ],
          );
        }
      },
      this.nodes.of,
    );
    const written = new Set<UserId>();
    shards.forEach(({ items }, g) => {
      items.forEach((userId, i) => {
        if ((replies[g] as unknown[])[i] === STATE_WRITTEN) written.add(userId);
      });
    });
    return [...states.keys()].filter((userId) => written.has(userId));
  }

  private byShard(userIds: readonly UserId[]): Array<{ shard: number; items: UserId[] }> {
    return byShard(userIds, (u) => this.keys.shardOf(u));
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
    custom: parseCustom(hash.cu ?? ''),
  };
}
