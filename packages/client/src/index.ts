/**
 * The presence client SDK for browsers and Node. Node-only parts (UDP heartbeats) live in
 * `@presence/client/node`.
 */
export type {
  ClientKind,
  Clients,
  CustomStatus,
  LastSeenVisibility,
  PresenceStatus,
  PrivacySettings,
  SelfPresence,
  UserPresence,
} from '@presence/protocol';
export { type BackoffOptions, backoffDelay } from './backoff.js';
export {
  type ClientError,
  DEFAULT_IDLE_MS,
  DEVICE_STORAGE_KEY,
  defaultDeviceId,
  type IdleOptions,
  type PresenceClientEvents,
  type PresenceClientOptions,
} from './client-options.js';
export {
  type CustomStatusBody,
  CustomStatusClient,
  type CustomStatusUpdate,
  customStatusBody,
} from './custom-status.js';
export { type FormatLastSeenOptions, formatLastSeen, formatRelative } from './format-last-seen.js';
export { DEFAULT_HEARTBEAT_INTERVAL_MS } from './heartbeat-loop.js';
export { type HttpHeartbeatOptions, httpHeartbeat } from './http-heartbeat.js';
export { PresenceRequestError } from './http-request.js';
export {
  DEFAULT_HIDDEN_MS,
  IdleDetector,
  type IdleDetectorOptions,
  type VisibilitySource,
} from './idle-detector.js';
export { PresenceClient } from './presence-client.js';
export { PresenceStore, type StatusEvent, type TypingEvent } from './presence-store.js';
export {
  PrivacySettingsClient,
  type PrivacySettingsClientOptions,
} from './privacy-settings.js';
export { userIdFromToken } from './token.js';
export type {
  ConnectionState,
  DeviceInfo,
  HeartbeatResult,
  HeartbeatTransport,
  TokenSource,
  WebSocketConstructor,
  WebSocketLike,
} from './types.js';
export {
  DEFAULT_TYPING_SILENCE_MS,
  DEFAULT_TYPING_TTL_MS,
  TypingIndicator,
  type TypingIndicatorOptions,
} from './typing-indicator.js';
