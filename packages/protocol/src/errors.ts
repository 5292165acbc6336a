/**
 * The one catalog of error codes: HTTP answers (`{"error": {"code", "message"}}`) and WebSocket error
 * frames (`{"type": "error", "code", "message"}`) use these codes, and the client SDK reads them.
 */
export const ErrorCodes = {
  /** A body, path parameter or frame that is not what the protocol says. */
  BAD_REQUEST: { code: 'bad_request', status: 400 },
  /** A WebSocket frame that is not JSON or not a known message. */
  BAD_FRAME: { code: 'bad_frame', status: 400 },
  /** Missing, malformed, expired or wrongly signed token. */
  UNAUTHORIZED: { code: 'unauthorized', status: 401 },
  /** Authenticated, but this action is not allowed (for example typing where one is not a participant). */
  FORBIDDEN: { code: 'forbidden', status: 403 },
  /** No such resource, or one the caller may not see: the two are answered alike. */
  NOT_FOUND: { code: 'not_found', status: 404 },
  /** Body over the size limit. */
  PAYLOAD_TOO_LARGE: { code: 'payload_too_large', status: 413 },
  /** An unchanged heartbeat sooner than the minimum interval; `Retry-After` says when to come back. */
  RATE_LIMITED: { code: 'rate_limited', status: 429 },
  /** A WebSocket request past a documented limit (lazy subscriptions: ids per frame or per connection). */
  LIMIT: { code: 'limit', status: 400 },
  /** A bug on our side; the message says nothing internal. */
  INTERNAL: { code: 'internal', status: 500 },
  /** A dependency the request needs (PostgreSQL) is down; try again later. */
  UNAVAILABLE: { code: 'unavailable', status: 503 },
} as const;

export type ErrorName = keyof typeof ErrorCodes;
export type ErrorCode = (typeof ErrorCodes)[ErrorName]['code'];

/** The JSON body of every HTTP error answer. */
export interface ErrorBody {
  error: { code: ErrorCode; message: string };
}

/**
 * WebSocket close codes of the service and its clients. 1000-1015 are the RFC 6455 ones; 4000-4999 are this
 * service's.
 */
export const CloseCodes = {
  /** A deliberate close with nothing to recover from: the client signing off or shutting down. */
  NORMAL: 1000,
  /** Server shutting down or restarting: reconnect (to another process) at once. */
  GOING_AWAY: 1001,
  /** Never sent: what a side reports when the connection ended without a close frame (cut, network loss). */
  ABNORMAL: 1006,
  /** Repeated bad frames. Do not reconnect in a tight loop. */
  POLICY_VIOLATION: 1008,
  /** A frame over MAX_WS_FRAME_BYTES. */
  MESSAGE_TOO_BIG: 1009,
  /** Unexpected server error. */
  INTERNAL_ERROR: 1011,
  /** The client did not read its messages fast enough and the server dropped it (back-pressure). */
  SLOW_CONSUMER: 4008,
  /** The token expired while connected; reconnect with a fresh token. */
  TOKEN_EXPIRED: 4001,
  /** The user opened more connections than allowed: this, the oldest, was closed. Do not reconnect it. */
  TOO_MANY_SOCKETS: 4009,
} as const;

export type CloseCode = (typeof CloseCodes)[keyof typeof CloseCodes];
