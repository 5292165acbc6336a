import { UdpDropReasons } from '@presence/protocol';
import type { AdminSnapshot } from '../../server/src/admin-snapshot.js';
import { element, setText } from './dom.js';
import { bytes, count, milliseconds, rate, sum } from './format.js';
import { HealthStrips, type Shade, shades } from './health-strips.js';
import { TimeChart } from './time-chart.js';

/** A readiness answer older than this means the check hangs: show it as "no answer", not as its last word. */
const HEALTH_STALE_MS = 3_000;

/** One colour per drop reason, in the protocol's order, so a reason keeps its colour across pages and days. */
const DROP_COLORS = ['#b48cff', '#ff8fc7', '#f5b14c', '#ff6b6b', '#ff9f43', '#4dd4d4', '#8d99ae', '#e84393'];
const STATUS_COLORS: Record<string, string> = { online: '#3ecf8e', away: '#f5b14c', offline: '#8d99ae' };

/** Event-loop lag worth a glance, and lag that the alert rules page someone for. */
const LAG_WARN_MS = 50;
const LAG_BAD_MS = 100;

function level(value: number, warn: number, bad: number): 'ok' | 'warn' | 'bad' {
  return value >= bad ? 'bad' : value >= warn ? 'warn' : 'ok';
}

function dropColor(reason: string): string {
  const index = (UdpDropReasons as readonly string[]).indexOf(reason);
  return DROP_COLORS[index] ?? '#c0c6d0';
}

/** Everything on the page that follows the stream: tiles, health pills, charts and strips. */
export class Dashboard {
  private readonly online = new TimeChart(
    element('chart-online'),
    [{ id: 'online', label: 'online users', color: '#5aa9ff' }],
    count,
  );
  private readonly heartbeats = new TimeChart(
    element('chart-heartbeats'),
    [
      { id: 'udp', label: 'UDP accepted', color: '#3ecf8e' },
      { id: 'http', label: 'HTTP accepted', color: '#5aa9ff' },
    ],
    rate,
  );
  private readonly ws = new TimeChart(
    element('chart-ws'),
    [{ id: 'ws', label: 'connections', color: '#4dd4d4' }],
    count,
  );
  private readonly transitions = new TimeChart(
    element('chart-transitions'),
    ['online', 'away', 'offline'].map((status) => ({
      id: status,
      label: status,
      color: STATUS_COLORS[status] as string,
    })),
    rate,
  );
  private readonly lag = new TimeChart(
    element('chart-lag'),
    [
      { id: 'p50', label: 'p50', color: '#5aa9ff' },
      { id: 'p99', label: 'p99', color: '#f5b14c' },
      { id: 'max', label: 'max', color: '#ff6b6b', dash: true },
    ],
    rate,
  );
  private readonly strips = new HealthStrips(element<HTMLCanvasElement>('health-strips'));

  update(s: AdminSnapshot): void {
    const accepted = s.rates.udp_accepted + s.rates.http_accepted;
    setText('online-users', count(s.online_users));
    element('online-users').dataset.value = String(s.online_users);
    setText('online-users-note', s.redis === 'not_configured' ? 'this process' : 'whole deployment');
    setText('ws-connections', count(s.ws_connections));
    setText('heartbeats-rate', rate(accepted));
    setText(
      'heartbeats-total',
      `${count(s.totals.udp_accepted)} UDP · ${count(s.totals.http_accepted)} HTTP accepted since start`,
    );
    const dropped = sum(s.rates.udp_dropped);
    setText('dropped-rate', rate(dropped));
    element('dropped-rate').dataset.level = dropped > 0 ? 'warn' : 'ok';
    setText('dropped-total', `${count(sum(s.totals.udp_dropped))} since start`);
    setText('transitions-rate', rate(sum(s.rates.transitions)));
    setText('transitions-total', `${count(sum(s.totals.transitions))} since start`);
    setText('lag-p99', milliseconds(s.event_loop_lag_ms.p99));
    element('lag-p99').dataset.level = level(s.event_loop_lag_ms.p99, LAG_WARN_MS, LAG_BAD_MS);
    setText('lag-max', `max ${milliseconds(s.event_loop_lag_ms.max)}`);
    setText('memory-rss', bytes(s.memory_bytes.rss));
    setText('memory-heap', `heap ${bytes(s.memory_bytes.heap_used)}`);

    const lanes = shades(s, HEALTH_STALE_MS);
    this.pill('health-redis', lanes[0], { good: 'up', bad: 'down', none: 'not used', unknown: 'no answer' });
    this.pill('health-database', lanes[1], { good: 'up', bad: 'down', none: '–', unknown: 'no answer' });
    this.pill('health-degraded', lanes[2], { good: 'no', bad: 'yes', none: '–', unknown: '…' });
    this.strips.push(lanes);

    this.online.push(s.time, { online: s.online_users });
    this.ws.push(s.time, { ws: s.ws_connections });
    for (const reason of Object.keys(s.totals.udp_dropped).sort()) {
      this.heartbeats.addSeries({
        id: reason,
        label: `dropped: ${reason}`,
        color: dropColor(reason),
        dash: true,
      });
    }
    this.heartbeats.push(s.time, {
      udp: s.rates.udp_accepted,
      http: s.rates.http_accepted,
      ...s.rates.udp_dropped,
    });
    this.transitions.push(s.time, s.rates.transitions);
    this.lag.push(s.time, s.event_loop_lag_ms);
  }

  private pill(id: string, shade: Shade, words: Record<Shade, string>): void {
    const pill = element(id);
    const state = {
      good: id === 'health-degraded' ? 'no' : 'up',
      bad: id === 'health-degraded' ? 'yes' : 'down',
    };
    pill.dataset.state =
      shade === 'good' || shade === 'bad' ? state[shade] : shade === 'none' ? 'none' : 'stale';
    const value = pill.querySelector('b');
    if (value) value.textContent = words[shade];
  }
}
