import type { AdminSnapshot } from '../../server/src/admin-snapshot.js';

export type StreamEnd = { kind: 'unauthorized' } | { kind: 'closed'; reason: string };

/**
 * Reads `GET /admin/stream` until it ends. EventSource cannot send an Authorization header, so this is
 * fetch plus the few lines of the event-stream format the server writes (`data:` lines, blank-line ends).
 */
export async function readStream(
  url: string,
  key: string | null,
  onSnapshot: (snapshot: AdminSnapshot) => void,
): Promise<StreamEnd> {
  let response: Response;
  try {
    response = await fetch(url, {
      headers: key === null ? {} : { authorization: `Bearer ${key}` },
      cache: 'no-store',
    });
  } catch {
    return { kind: 'closed', reason: 'the service does not answer' };
  }
  if (response.status === 401) return { kind: 'unauthorized' };
  if (!response.ok || response.body === null) return { kind: 'closed', reason: `HTTP ${response.status}` };

  const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = '';
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return { kind: 'closed', reason: 'the service ended the stream' };
      buffer += value.replaceAll('\r\n', '\n');
      for (let end = buffer.indexOf('\n\n'); end >= 0; end = buffer.indexOf('\n\n')) {
        const data = buffer
          .slice(0, end)
          .split('\n')
          .filter((line) => line.startsWith('data:'))
          .map((line) => line.slice(5).trimStart())
          .join('\n');
        buffer = buffer.slice(end + 2);
        if (data !== '') onSnapshot(JSON.parse(data) as AdminSnapshot);
      }
    }
  } catch {
    return { kind: 'closed', reason: 'the connection was lost' };
  }
}
