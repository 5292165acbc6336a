import 'uplot/dist/uPlot.min.css';
import '../styles.css';
import { Dashboard } from './dashboard.js';
import { setText } from './dom.js';
import { askForKey, forgetKey, storedKey } from './key-prompt.js';
import { readStream } from './stream.js';

const STREAM_URL = '/admin/stream';
/** With nothing for this long the figures on screen are history, and the page says so. */
const STALE_AFTER_MS = 3_000;
const RETRY_MIN_MS = 1_000;
const RETRY_MAX_MS = 15_000;

const dashboard = new Dashboard();
const status = document.getElementById('stream-status') as HTMLElement;
let lastSnapshotAt = 0;

function showStatus(state: 'connecting' | 'live' | 'retrying', text: string): void {
  status.dataset.state = state;
  setText('stream-status', text);
}

setInterval(() => {
  const stale = Date.now() - lastSnapshotAt > STALE_AFTER_MS;
  document.body.toggleAttribute('data-stale', stale);
  if (stale && status.dataset.state === 'live') showStatus('retrying', 'no data for a few seconds…');
}, 1_000);

/** Follows the stream for as long as the page is open: asks for the key on 401, backs off on failures. */
async function follow(): Promise<never> {
  let failures = 0;
  for (;;) {
    const key = storedKey();
    showStatus('connecting', 'connecting…');
    const end = await readStream(STREAM_URL, key, (snapshot) => {
      failures = 0;
      lastSnapshotAt = Date.now();
      showStatus('live', 'live');
      dashboard.update(snapshot);
    });
    if (end.kind === 'unauthorized') {
      forgetKey();
      showStatus('connecting', 'waiting for the service key');
      await askForKey(key !== null);
      continue;
    }
    // Jittered, so a restarted service is not met by every open page in the same millisecond.
    const wait = Math.min(RETRY_MAX_MS, RETRY_MIN_MS * 2 ** failures) * (0.5 + Math.random() / 2);
    failures += 1;
    showStatus('retrying', `${end.reason}; retrying in ${Math.ceil(wait / 1000)} s`);
    await new Promise((resolve) => setTimeout(resolve, wait));
  }
}

void follow();
