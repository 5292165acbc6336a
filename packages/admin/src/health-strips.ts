import type { AdminSnapshot } from '../../server/src/admin-snapshot.js';
import { WINDOW_POINTS } from './time-chart.js';

/** A state on a strip: good, bad, not applicable, or not known (no answer). */
export type Shade = 'good' | 'bad' | 'none' | 'unknown';

const COLORS: Record<Shade, string> = {
  good: '#3ecf8e',
  bad: '#ff6b6b',
  none: '#3a4250',
  unknown: '#f5b14c',
};
const LANES = ['Redis', 'PostgreSQL', 'Degraded mode'] as const;
const LABEL_WIDTH = 110;
const LANE_HEIGHT = 34;
const LANE_GAP = 22;

/** Shades for the three lanes of one snapshot; a check older than `staleMs` counts as not answering. */
export function shades(snapshot: AdminSnapshot, staleMs: number): [Shade, Shade, Shade] {
  const stale = snapshot.health_checked_at === null || snapshot.time - snapshot.health_checked_at > staleMs;
  const redis: Shade =
    snapshot.redis === 'not_configured'
      ? 'none'
      : stale
        ? 'unknown'
        : snapshot.redis === 'up'
          ? 'good'
          : 'bad';
  const database: Shade = stale ? 'unknown' : snapshot.database === 'up' ? 'good' : 'bad';
  return [redis, database, snapshot.degraded ? 'bad' : 'good'];
}

/**
 * Redis, PostgreSQL and degraded mode over the last five minutes, one column a second: an outage shows as a
 * red stretch whose length is its duration, which a line chart of 0s and 1s would hide in its axis.
 */
export class HealthStrips {
  private readonly history: Array<[Shade, Shade, Shade]> = [];

  constructor(private readonly canvas: HTMLCanvasElement) {
    new ResizeObserver(() => this.draw()).observe(canvas);
  }

  push(lanes: [Shade, Shade, Shade]): void {
    this.history.push(lanes);
    if (this.history.length > WINDOW_POINTS) this.history.shift();
    this.draw();
  }

  private draw(): void {
    const ratio = window.devicePixelRatio || 1;
    const width = this.canvas.clientWidth;
    const height = this.canvas.clientHeight;
    this.canvas.width = Math.round(width * ratio);
    this.canvas.height = Math.round(height * ratio);
    const g = this.canvas.getContext('2d');
    if (g === null || width === 0) return;
    g.scale(ratio, ratio);
    g.clearRect(0, 0, width, height);
    g.font = '13px system-ui, sans-serif';
    g.textBaseline = 'middle';
    const column = (width - LABEL_WIDTH) / WINDOW_POINTS;
    // Newest on the right, like the charts beside it.
    const offset = WINDOW_POINTS - this.history.length;
    LANES.forEach((label, lane) => {
      const top = 12 + lane * (LANE_HEIGHT + LANE_GAP);
      g.fillStyle = '#9aa4b5';
      g.fillText(label, 0, top + LANE_HEIGHT / 2);
      g.fillStyle = COLORS.none;
      g.globalAlpha = 0.35;
      g.fillRect(LABEL_WIDTH, top, width - LABEL_WIDTH, LANE_HEIGHT);
      g.globalAlpha = 1;
      this.history.forEach((lanes, i) => {
        g.fillStyle = COLORS[lanes[lane] as Shade];
        g.fillRect(LABEL_WIDTH + (offset + i) * column, top, Math.ceil(column), LANE_HEIGHT);
      });
    });
  }
}
