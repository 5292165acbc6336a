/** Where progress goes: stderr by default, so stdout keeps only the command's result. */
export interface ProgressStream {
  write(text: string): unknown;
  isTTY?: boolean | undefined;
}

export interface ProgressOptions {
  /** First word of every line, e.g. `seed`. */
  label: string;
  total: number;
  /** What is counted, e.g. `rows`. */
  unit: string;
  stream?: ProgressStream;
  now?: () => number;
  /** Off a terminal, a plain line at least this often (besides one per tenth of the total). */
  plainEveryMs?: number;
  /** Whether `units/s` means anything to the reader (rows do; the bench's phases do not). */
  showRate?: boolean;
}

export interface Progress {
  /** `done` of `total` so far; `secondsLeft` replaces the estimate from the rate when the caller knows better. */
  update(done: number, extra?: { note?: string; secondsLeft?: number }): void;
  /** Wipes the terminal line, so that other output can be written; the next update draws it again. */
  clear(): void;
  /** The last line, kept on screen. */
  finish(note?: string): void;
}

/** Terminal redraws at most this often: more is flicker, and costs a write per row on a fast seed. */
const REDRAW_MS = 100;
const CLEAR_LINE = '\x1b[K';

const number = (n: number) => Math.round(n).toLocaleString('en-US');

/** `42 s`, `3 min 5 s`, `2 h 10 min`. */
export function formatDuration(seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  if (s < 60) return `${s} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min ${s % 60} s`;
  return `${Math.floor(s / 3600)} h ${Math.floor((s % 3600) / 60)} min`;
}

/**
 * Progress of long work: on a terminal one line redrawn in place (`\r`), elsewhere (a log file, CI, a pipe)
 * plain lines at each tenth of the total and at least every `plainEveryMs`, since `\r` there makes one
 * unreadable line.
 *
 * @example
 * const progress = createProgress({ label: 'seed', total: rows, unit: 'rows' });
 * progress.update(done);
 * progress.finish();
 */
export function createProgress(options: ProgressOptions): Progress {
  const stream = options.stream ?? process.stderr;
  const now = options.now ?? Date.now;
  const tty = stream.isTTY === true;
  const plainEveryMs = options.plainEveryMs ?? 5_000;
  const started = now();
  let done = 0;
  let lastDrawn = Number.NEGATIVE_INFINITY;
  let lastTenth = 0;
  let drawn = false;

  const line = (extra: { note?: string; secondsLeft?: number } = {}): string => {
    const percent = options.total > 0 ? Math.min(100, Math.floor((100 * done) / options.total)) : 100;
    const parts = [
      `${options.label}: ${number(done)}/${number(options.total)} ${options.unit} (${percent}%)`,
    ];
    const elapsedS = (now() - started) / 1000;
    const rate = elapsedS > 0 ? done / elapsedS : 0;
    if (options.showRate !== false && rate > 0) parts.push(`${number(rate)} ${options.unit}/s`);
    const left = extra.secondsLeft ?? (rate > 0 ? (options.total - done) / rate : undefined);
    if (done < options.total && left !== undefined) parts.push(`about ${formatDuration(left)} left`);
    if (done >= options.total) parts.push(`done in ${formatDuration(elapsedS)}`);
    if (extra.note) parts.push(extra.note);
    return parts.join(', ');
  };

  return {
    update(value, extra) {
      done = value;
      // The finishing line says it once.
      if (done >= options.total) return;
      const at = now();
      if (tty) {
        if (at - lastDrawn < REDRAW_MS) return;
        stream.write(`\r${line(extra)}${CLEAR_LINE}`);
        drawn = true;
      } else {
        const tenth = Math.floor((10 * done) / Math.max(options.total, 1));
        if (tenth <= lastTenth && at - lastDrawn < plainEveryMs) return;
        lastTenth = Math.max(lastTenth, tenth);
        stream.write(`${line(extra)}\n`);
      }
      lastDrawn = at;
    },
    clear() {
      if (!tty || !drawn) return;
      stream.write(`\r${CLEAR_LINE}`);
      drawn = false;
      lastDrawn = Number.NEGATIVE_INFINITY;
    },
    finish(note) {
      done = Math.max(done, options.total);
      stream.write(
        tty ? `\r${line(note ? { note } : {})}${CLEAR_LINE}\n` : `${line(note ? { note } : {})}\n`,
      );
      drawn = false;
    },
  };
}
