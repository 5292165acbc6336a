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

  /** Applies a notice; returns the frame it carries for the client, or null when nothing may pass. */
  apply(notice: VisibilityNotice): StatusMessage | null {
    const causes = this.causes.get(notice.user_id) ?? new Set<NoticeCause>();
    if (notice.notice === 'hide') causes.add(notice.cause ?? 'block');
    else causes.delete(notice.cause ?? 'block');
    if (causes.size > 0) this.causes.set(notice.user_id, causes);
    else this.causes.delete(notice.user_id);
    // Nothing passes while a block stands (a block's end under a privacy hide carries the filtered presence).
    if (notice.notice === 'show' && causes.has('block')) return null;
    return notice.frame;
  }

  /** Whether a frame for the client is about a hidden user. */
  hides(payload: string): boolean {
    if (this.causes.size === 0) return false;
    const subject = subjectOf(payload);
    return subject !== null && this.causes.has(subject);
  }

  /** The user was shown again by a fresh read (a snapshot, a subscribe answer). */
  shown(userId: UserId): void {
    this.causes.delete(userId);
  }
}
