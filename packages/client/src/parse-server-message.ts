import { type ErrorCode, isId, isStatus, type ServerMessage, type UserPresence } from '@presence/protocol';

function isPresence(value: unknown): value is UserPresence {
  if (typeof value !== 'object' || value === null) return false;
  const { user_id, status, last_seen } = value as Record<string, unknown>;
  return isId(user_id) && isStatus(status) && (last_seen === null || typeof last_seen === 'string');
}

/** Picks the wire fields only, so extra fields a newer server adds never leak into the store. */
function presenceOf(value: UserPresence): UserPresence {
  return { user_id: value.user_id, status: value.status, last_seen: value.last_seen };
}

/**
 * Validates a server frame at the client's edge. Unknown types yield null rather than an error: the
 * contract lets the server add message types, and an older client must ignore them.
 */
export function parseServerMessage(text: string): ServerMessage | null {
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch {
    return null;
  }
  if (typeof data !== 'object' || data === null || Array.isArray(data)) return null;
  const frame = data as Record<string, unknown>;
  switch (frame.type) {
    case 'presence.snapshot': {
      if (!Array.isArray(frame.users)) return null;
      return { type: 'presence.snapshot', users: frame.users.filter(isPresence).map(presenceOf) };
    }
    case 'presence.status':
      return isPresence(frame) ? { type: 'presence.status', ...presenceOf(frame) } : null;
    case 'presence.typing': {
      const { user_id, conversation_id, is_typing } = frame;
      if (!isId(user_id) || !isId(conversation_id) || typeof is_typing !== 'boolean') return null;
      return { type: 'presence.typing', user_id, conversation_id, is_typing };
    }
    case 'error': {
      const { code, message } = frame;
      if (typeof code !== 'string' || typeof message !== 'string') return null;
      // The code is passed through as sent; a code this client does not know is still worth reporting.
      return { type: 'error', code: code as ErrorCode, message };
    }
    default:
      return null;
  }
}
