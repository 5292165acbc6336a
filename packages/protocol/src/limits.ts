/** Largest UDP heartbeat datagram the server reads, in bytes; a larger one is dropped unread. */
export const MAX_UDP_PACKET_BYTES = 512;
/** Largest WebSocket frame a client may send, in bytes; a larger one closes the connection with 1009. */
export const MAX_WS_FRAME_BYTES = 4096;
/** Most users a snapshot lists: the most recently seen ones. */
export const MAX_SNAPSHOT_USERS = 1000;
/** Most ids one `presence.subscribe` frame may carry (contract section 15); also bound by the frame size. */
export const MAX_SUBSCRIBE_IDS_PER_FRAME = 500;
/** Most ids a connection may hold subscribed, counting every requested id, visible or not. */
export const MAX_SUBSCRIBED_IDS = 5000;
/** Path of the WebSocket endpoint. */
export const WS_PATH = '/ws';
