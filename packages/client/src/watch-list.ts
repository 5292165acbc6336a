import {
  MAX_SUBSCRIBE_IDS_PER_FRAME,
  MAX_SUBSCRIBED_IDS,
  MAX_WS_FRAME_BYTES,
  type UserPresence,
} from '@presence/protocol';

/** Ids split into frames within the server's limits: 500 ids and 4 KiB a frame. */
export function idFrames(ids: readonly number[]): number[][] {
  const frames: number[][] = [];
  let chunk: number[] = [];
  let bytes = 0;
  for (const id of ids) {
    const size = String(id).length + 1;
    if (chunk.length === MAX_SUBSCRIBE_IDS_PER_FRAME || bytes + size > MAX_WS_FRAME_BYTES - 64) {
      frames.push(chunk);
      chunk = [];
      bytes = 0;
    }
    chunk.push(id);
    bytes += size;
  }
  if (chunk.length > 0) frames.push(chunk);
  return frames;
}

/**
 * The users a client with `subscribe: 'manual'` watches, and the subscribe frames of the current socket still
 * waiting for their answer: the server answers each frame once, in order, so an answer tells which of the
 * asked users it left out (no longer visible).
 */
export class WatchList {
  readonly #watched = new Set<number>();
  #asked: number[][] = [];

  has(userId: number): boolean {
    return this.#watched.has(userId);
  }

  all(): number[] {
    return [...this.#watched];
  }

  /** Adds the ids not watched yet and returns them; a RangeError past the server's limit. */
  add(userIds: readonly number[]): number[] {
    const added = [...new Set(userIds)].filter((id) => !this.#watched.has(id));
    if (this.#watched.size + added.length > MAX_SUBSCRIBED_IDS)
      throw new RangeError(`PresenceClient: at most ${MAX_SUBSCRIBED_IDS} users watched at once`);
    for (const id of added) this.#watched.add(id);
    return added;
  }

  /** Removes the ids watched and returns them. */
  remove(userIds: readonly number[]): number[] {
    return [...new Set(userIds)].filter((id) => this.#watched.delete(id));
  }

  /** A subscribe frame went out on the current socket. */
  asked(ids: number[]): void {
    this.#asked.push(ids);
  }

  /** The ids the oldest frame asked for that this answer leaves out. */
  answered(users: readonly UserPresence[]): number[] {
    const shown = new Set(users.map((user) => user.user_id));
    return (this.#asked.shift() ?? []).filter((id) => !shown.has(id));
  }

  /** The socket is gone, and with it every answer still due. */
  dropped(): void {
    this.#asked = [];
  }
}
