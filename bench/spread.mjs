/**
 * `--servers N`: which server each user heartbeats to, and which one a listener connects to. A multiplicative
 * hash spreads users evenly whatever the stride of the listeners; a listener connects to the server after the
 * one its flip user (its ring neighbour) heartbeats to, so every flip reaches its watcher through the bus.
 */

/** The server (0..n-1) user `userId` heartbeats to: Fibonacci hashing, from the product's high bits. */
export const heartbeatServer = (userId, n) =>
  Math.floor(((Math.imul(userId, 0x9e3779b1) >>> 0) / 2 ** 32) * n);

/** The server a listener of `userId` connects to: never the one its flip user heartbeats to (n > 1). */
export const listenerServer = (userId, users, n) =>
  (heartbeatServer(userId === users ? 1 : userId + 1, n) + 1) % n;
