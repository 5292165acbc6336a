import type { StatusMessage } from '@presence/protocol';
import type { UserId } from './types.js';

/**
 * Bus payloads for a user's connections that are not frames for the client but tell each session that a user
 * just left or re-entered its visible set (a block or its end). The session forwards the frame it carries and,
 * while the other user is hidden, drops any frame about them that was already on its way under the old graph:
 * the graph versions stop new ones at the source, this stops the ones in flight.
 */
export type VisibilityNotice =
  | { notice: 'hide'; cause?: NoticeCause; user_id: UserId; frame: StatusMessage }
  | { notice: 'show'; cause?: NoticeCause; user_id: UserId; frame: StatusMessage | null };

/**
 * Why a user is hidden: a block (the default) or a privacy setting (invisible). Each is lifted only by a show of
 * the same cause, so a late privacy show never reveals a user a block hides.
 */
export type NoticeCause = 'block' | 'privacy';

/** Every notice starts so; no frame for the client does (they all start with `{"type":`). */
export const NOTICE_PREFIX = '{"notice":';

export const encodeNotice = (notice: VisibilityNotice): string => JSON.stringify(notice);

/** The notice a payload holds, or null when it is a frame for the client. */
export function decodeNotice(payload: string): VisibilityNotice | null {
  if (!payload.startsWith(NOTICE_PREFIX)) return null;
  return JSON.parse(payload) as VisibilityNotice;
}

/** The start of the frames fan-out builds (`type` then `user_id`): read without parsing the whole frame. */
const SUBJECT = /^\{"type":"presence\.(?:status|typing)","user_id":(\d+)[,}]/;

/** The user a frame for the client is about (status and typing frames), or null. */
export function subjectOf(payload: string): UserId | null {
  const known = SUBJECT.exec(payload);
  if (known) return Number(known[1]);
  try {
    const userId = (JSON.parse(payload) as { user_id?: unknown }).user_id;
    return typeof userId === 'number' ? userId : null;
  } catch {
    return null;
  }
}

/**
 * The users hidden from one connection by a notice while it was open: frames about them that were already on
 * their way under the old graph or settings are dropped. Each cause is lifted only by a show of that cause, or
 * by a snapshot or subscribe answer that shows the user again.
 */
export class HiddenUsers {
  private readonly causes = new Map<UserId, Set<NoticeCause>>();
  /**
   * The newest status frame dropped for each hidden user. A frame decided once the user was visible again
   * can overtake the show notice; when the show lifts the last cause, it passes after the show's frame if its
   * `v` is larger, so the client keeps the newest presence.
   */
  private readonly dropped = new Map<UserId, { v: number; payload: string }>();

  /** Applies a notice; returns the frames for the client, in order (none while nothing may pass). */
  apply(notice: VisibilityNotice): string[] {
    const userId = notice.user_id;
    const causes = this.causes.get(userId) ?? new Set<NoticeCause>();
    if (notice.notice === 'hide') causes.add(notice.cause ?? 'block');
    else causes.delete(notice.cause ?? 'block');
    if (causes.size > 0) this.causes.set(userId, causes);
    else this.causes.delete(userId);
    if (notice.notice === 'hide') {
      this.dropped.delete(userId);
      return [JSON.stringify(notice.frame)];
    }
    // Nothing passes while a block stands (a block's end under a privacy hide carries the filtered presence),
    // nor when the show says the user is not visible at all.
    if (causes.has('block') || notice.frame === null) {
      if (causes.size === 0) this.dropped.delete(userId);
      return [];
    }
    const frames = [JSON.stringify(notice.frame)];
    if (causes.size === 0) {
      const newer = this.dropped.get(userId);
      this.dropped.delete(userId);
      if (newer !== undefined && newer.v > notice.frame.v) frames.push(newer.payload);
    }
    return frames;
  }

  /** Whether a frame for the client is about a hidden user (then it is dropped, the newest status kept). */
  hides(payload: string): boolean {
    if (this.causes.size === 0) return false;
    const subject = subjectOf(payload);
    if (subject === null || !this.causes.has(subject)) return false;
    if (payload.startsWith('{"type":"presence.status"')) {
      const v = (JSON.parse(payload) as { v?: unknown }).v;
      const kept = this.dropped.get(subject);
      if (typeof v === 'number' && (kept === undefined || v > kept.v))
        this.dropped.set(subject, { v, payload });
    }
    return true;
  }

  /** The user was shown again by a fresh read (a snapshot, a subscribe answer). */
  shown(userId: UserId): void {
    this.causes.delete(userId);
    this.dropped.delete(userId);
  }
}
