/**
 * The server's inspector (loopback only): the bench forces full GCs through it before reading RSS, and
 * CPU-profiles the measured phase. Idle, it costs the server nothing.
 */
import WebSocket from 'ws';

/**
 * A DevTools-protocol session on the inspector of a process (loopback only): `call(method, params)`.
 * @param {number} inspectPort
 */
export async function inspector(inspectPort) {
  const [target] = await (await fetch(`http://127.0.0.1:${inspectPort}/json/list`)).json();
  const socket = new WebSocket(target.webSocketDebuggerUrl, { maxPayload: 1024 ** 3 });
  await new Promise((resolve, reject) => {
    socket.once('open', resolve);
    socket.once('error', reject);
  });
  let nextId = 1;
  const call = (method, params = {}) =>
    new Promise((resolve, reject) => {
      const id = nextId++;
      const timer = setTimeout(() => reject(new Error(`${method} timed out`)), 60_000);
      const onMessage = (data) => {
        const message = JSON.parse(data.toString());
        if (message.id !== id) return;
        clearTimeout(timer);
        socket.off('message', onMessage);
        if (message.error) reject(new Error(`${method}: ${message.error.message}`));
        else resolve(message.result);
      };
      socket.on('message', onMessage);
      socket.send(JSON.stringify({ id, method, params }));
    });
  return { call, close: () => socket.close() };
}

/** Forces two full garbage collections in the process, so RSS and heap readings are settled. */
export async function collectGarbage(inspectPort) {
  const session = await inspector(inspectPort);
  try {
    await session.call('HeapProfiler.collectGarbage');
    await session.call('HeapProfiler.collectGarbage');
  } finally {
    session.close();
  }
}
