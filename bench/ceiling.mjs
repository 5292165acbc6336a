/**
 * The bare ceiling: a minimal UDP heartbeat receiver (forked by run.mjs, talks over IPC) doing only what any
 * receiver must: size check, JSON parse, field checks, timestamp window, token check (jose once per token, then
 * a Map), and one Redis pipeline per batch of survivors (ZADD presence:online_users + HSET presence:user:{id}).
 * No rate limit, no transitions, no fan-out, no database: what the server does beyond this is its overhead.
 *
 * IPC in:  {type:'init', port, secret, redisUrl, prefix, windowMs} · {type:'stats'} · {type:'exit'}
 * IPC out: {type:'ready', port} · {type:'stats', received, accepted, dropped, batches, failedBatches}
 */
import { createSocket } from 'node:dgram';
import Redis from 'ioredis';
import { jwtVerify } from 'jose';

const MAX_BYTES = 512;
const MAX_BATCH = 2_000;

let received = 0;
let accepted = 0;
let batches = 0;
let failedBatches = 0;
/** @type {Record<string, number>} */
const dropped = {};
const drop = (reason) => {
  dropped[reason] = (dropped[reason] ?? 0) + 1;
};

process.on('message', (message) => {
  if (message.type === 'init') start(message);
  else if (message.type === 'stats')
    process.send({ type: 'stats', received, accepted, dropped: { ...dropped }, batches, failedBatches });
  else if (message.type === 'exit') process.exit(0);
});
process.on('disconnect', () => process.exit(0));

function start({ port, secret, redisUrl, prefix, windowMs }) {
  const key = new TextEncoder().encode(secret);
  const redis = new Redis(redisUrl, { enableAutoPipelining: false, maxRetriesPerRequest: 1 });
  const online = `${prefix}presence:online_users`;
  /** @type {Map<string, {userId: number, expiresAt: number} | null>} verdict per token */
  const verdicts = new Map();
  /** @type {Map<string, Promise<void>>} verifications in flight */
  const verifying = new Map();
  /** @type {{userId: number, status: string}[]} */
  let batch = [];
  let flushScheduled = false;

  const flush = () => {
    flushScheduled = false;
    if (batch.length === 0) return;
    const items = batch;
    batch = [];
    const now = Date.now();
    const pipe = redis.pipeline();
    for (const { userId, status } of items) {
      pipe.zadd(online, now, userId);
      pipe.hset(`${prefix}presence:user:${userId}`, 'status', status, 'last_seen', now);
    }
    pipe.exec().then(
      () => {
        batches += 1;
        accepted += items.length;
      },
      () => {
        failedBatches += 1;
        for (let i = 0; i < items.length; i++) drop('unavailable');
      },
    );
  };

  const admit = (verdict, userId, status) => {
    if (verdict === null || verdict.expiresAt <= Date.now()) return drop('bad_token');
    if (verdict.userId !== userId) return drop('user_mismatch');
    batch.push({ userId, status });
    if (batch.length >= MAX_BATCH) flush();
    else if (!flushScheduled) {
      flushScheduled = true;
      setImmediate(flush);
    }
  };

  const verify = async (token) => {
    try {
      const { payload } = await jwtVerify(token, key, {
        algorithms: ['HS256'],
        requiredClaims: ['exp', 'sub'],
      });
      verdicts.set(token, { userId: Number(payload.sub), expiresAt: payload.exp * 1000 });
    } catch {
      verdicts.set(token, null);
    }
  };

  const socket = createSocket({ type: 'udp4', recvBufferSize: 8 * 1024 * 1024 });
  socket.on('message', (buffer) => {
    received += 1;
    if (buffer.length > MAX_BYTES) return drop('oversize');
    let packet;
    try {
      packet = JSON.parse(buffer.toString('utf8'));
    } catch {
      return drop('invalid_json');
    }
    const { user_id: userId, token, timestamp } = packet;
    const status = packet.status ?? 'online';
    if (
      !Number.isSafeInteger(userId) ||
      userId < 1 ||
      typeof token !== 'string' ||
      !Number.isFinite(timestamp)
    )
      return drop('invalid_fields');
    if (status !== 'online' && status !== 'away' && status !== 'offline') return drop('invalid_fields');
    if (Math.abs(timestamp * 1000 - Date.now()) > windowMs) return drop('stale_timestamp');
    const verdict = verdicts.get(token);
    if (verdict !== undefined) return admit(verdict, userId, status);
    let pending = verifying.get(token);
    if (pending === undefined) {
      pending = verify(token).finally(() => verifying.delete(token));
      verifying.set(token, pending);
    }
    pending.then(() => admit(verdicts.get(token) ?? null, userId, status));
  });
  socket.bind(port, '127.0.0.1', () => process.send({ type: 'ready', port: socket.address().port }));
}
