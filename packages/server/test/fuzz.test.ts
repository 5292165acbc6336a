import {
  parseClientMessage,
  parseHeartbeatPacket,
  parseServerMessage,
  UdpDropReasons,
} from '@presence/protocol';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningServer } from '../src/app.js';
import { api, sendUdp, startEmbedded } from './support/server.js';

/**
 * Property tests of every edge that reads untrusted input: whatever arrives gets a documented answer, never an
 * exception, and the counters add up to what was sent. Seeds are fixed so a failure is reproducible.
 */

/** Inputs that look like the protocol often enough to reach past the first check. */
const jsonish = fc.oneof(
  fc.string(),
  fc.json(),
  fc
    .record(
      {
        user_id: fc.oneof(fc.integer(), fc.double(), fc.string(), fc.constant(null)),
        token: fc.oneof(fc.string(), fc.integer()),
        timestamp: fc.oneof(fc.integer(), fc.double(), fc.string()),
        status: fc.oneof(fc.constantFrom('online', 'away', 'offline', 'busy'), fc.integer()),
        type: fc.constantFrom('presence.typing.start', 'presence.typing.stop', 'presence.status.set', 'x'),
        conversation_id: fc.oneof(fc.integer(), fc.double(), fc.string()),
      },
      { requiredKeys: [] },
    )
    .map((value) => JSON.stringify(value)),
);

describe('parsers never throw', () => {
  it('answers every UDP datagram text with a packet or a documented drop reason', () => {
    fc.assert(
      fc.property(jsonish, (text) => {
        const parsed = parseHeartbeatPacket(text);
        if (!parsed.ok) expect(UdpDropReasons).toContain(parsed.reason);
      }),
      { seed: 42, numRuns: 2_000 },
    );
  });

  it('answers every client frame with a message or an explanation', () => {
    fc.assert(
      fc.property(jsonish, (text) => {
        const parsed = parseClientMessage(text);
        if (!parsed.ok) expect(typeof parsed.message).toBe('string');
      }),
      { seed: 42, numRuns: 2_000 },
    );
  });

  it('takes every server frame as a known message or null', () => {
    fc.assert(
      fc.property(jsonish, (text) => {
        const parsed = parseServerMessage(text);
        if (parsed !== null)
          expect(['presence.snapshot', 'presence.status', 'presence.typing', 'error']).toContain(parsed.type);
      }),
      { seed: 42, numRuns: 2_000 },
    );
  });
});

describe('the server under random input', () => {
  let server: RunningServer;
  beforeAll(async () => {
    server = await startEmbedded({ demo: false, authSecret: 'fuzz-secret-0123456789' });
  });
  afterAll(() => server.close());

  const counted = async () => {
    const text = (await api(server, 'GET', '/metrics')).body as string;
    let total = 0;
    for (const match of text.matchAll(/^presence_udp_packets_total\{[^}]*\} (\d+)$/gm))
      total += Number(match[1]);
    return total;
  };

  it('counts every random datagram under exactly one result', async () => {
    const packets = fc.sample(
      fc.oneof(
        jsonish,
        fc.uint8Array({ maxLength: 700 }).map((bytes) => Buffer.from(bytes)),
      ),
      { seed: 7, numRuns: 300 },
    );
    const before = await counted();
    const outcomes = await sendUdp(server, packets);
    expect(outcomes).toHaveLength(packets.length);
    for (const [result, reason] of outcomes) {
      expect(result).toBe('dropped');
      expect(UdpDropReasons).toContain(reason);
    }
    expect((await counted()) - before).toBe(packets.length);
  });

  it('answers random heartbeat bodies with 200, 400 or 429, never a 5xx', async () => {
    const token = await server.mintToken(90);
    const bodies = fc.sample(jsonish, { seed: 11, numRuns: 150 });
    for (const raw of bodies) {
      const result = await api(server, 'POST', '/api/presence/heartbeat/', { token, raw });
      expect([200, 400, 429], raw).toContain(result.status);
      if (result.status !== 200) expect(typeof result.body.error.code).toBe('string');
    }
  });
});
