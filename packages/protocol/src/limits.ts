/** Largest UDP heartbeat datagram the server reads, in bytes; a larger one is dropped unread. */
export const MAX_UDP_PACKET_BYTES = 512;
/** Largest WebSocket frame a client may send, in bytes; a larger one closes the connection with 1009. */
export const MAX_WS_FRAME_BYTES = 4096;
/** Most users a snapshot lists: the most recently seen ones. */
export const MAX_SNAPSHOT_USERS = 1000;
/** Path of the WebSocket endpoint. */
export const WS_PATH = '/ws';
