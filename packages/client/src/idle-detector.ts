/** The part of `document` idle detection reads. */
export interface VisibilitySource extends EventTarget {
  readonly hidden: boolean;
}

export interface IdleDetectorOptions {
  /** No input for this long means idle, ms. */
  idleMs: number;
  /** Where input events arrive. Default `globalThis.window`. */
  target?: EventTarget;
  /** Page visibility; a page hidden for `hiddenMs` counts as idle. Default `globalThis.document`. */
  document?: VisibilitySource;
  /** How long a page must stay hidden to count as idle, ms. Default 5000. */
  hiddenMs?: number;
  /** Called on each change between active (false) and idle (true). */
  onChange(idle: boolean): void;
}

export const DEFAULT_HIDDEN_MS = 5000;

const ACTIVITY_EVENTS = ['pointerdown', 'pointermove', 'keydown', 'wheel', 'touchstart', 'scroll', 'focus'];

/**
 * Watches user input and page visibility. Input only records a time stamp; one timer checks it, so a
 * stream of pointer moves costs no timer churn.
 *
 * @example
 * const idle = new IdleDetector({ idleMs: 120_000, onChange: (idle) => setAway(idle) });
 * idle.start();
 */
export class IdleDetector {
  readonly #options: IdleDetectorOptions;
  readonly #target: EventTarget | undefined;
  readonly #document: VisibilitySource | undefined;
  #lastActivity = Date.now();
  #idle = false;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #hiddenTimer: ReturnType<typeof setTimeout> | undefined;
  readonly #onActivity = () => this.#activity();
  readonly #onVisibility = () => {
    if (this.#document?.hidden) this.#hidden();
    else this.#activity();
  };

  constructor(options: IdleDetectorOptions) {
    this.#options = options;
    this.#target = options.target ?? (globalThis as { window?: EventTarget }).window;
    this.#document = options.document ?? (globalThis as { document?: VisibilitySource }).document;
  }

  get idle(): boolean {
    return this.#idle;
  }

  start(): void {
    const listen = { capture: true, passive: true };
    for (const type of ACTIVITY_EVENTS) this.#target?.addEventListener(type, this.#onActivity, listen);
    this.#document?.addEventListener('visibilitychange', this.#onVisibility);
    this.#lastActivity = Date.now();
    this.#schedule(this.#options.idleMs);
    if (this.#document?.hidden) this.#hidden();
  }

  stop(): void {
    for (const type of ACTIVITY_EVENTS) {
      this.#target?.removeEventListener(type, this.#onActivity, { capture: true });
    }
    this.#document?.removeEventListener('visibilitychange', this.#onVisibility);
    clearTimeout(this.#timer);
    clearTimeout(this.#hiddenTimer);
    this.#timer = undefined;
    this.#hiddenTimer = undefined;
  }

  /**
   * Hidden counts as idle only after a while. Closing a tab fires `visibilitychange` first, and an `away`
   * heartbeat sent then would keep the user present for PRESENCE_TIMEOUT_MS; a timer dies with the page, so
   * a closed tab never sends it. The wait also spares contacts a flicker on a quick tab switch.
   */
  #hidden(): void {
    clearTimeout(this.#hiddenTimer);
    this.#hiddenTimer = setTimeout(() => {
      this.#hiddenTimer = undefined;
      if (this.#document?.hidden) this.#setIdle(true);
    }, this.#options.hiddenMs ?? DEFAULT_HIDDEN_MS);
  }

  #activity(): void {
    // Events that still reach a hidden page (a scroll, a focus) must not cancel the pending hidden check.
    if (this.#document?.hidden) return;
    clearTimeout(this.#hiddenTimer);
    this.#hiddenTimer = undefined;
    this.#lastActivity = Date.now();
    if (this.#idle) {
      this.#setIdle(false);
      this.#schedule(this.#options.idleMs);
    }
  }

  #schedule(delay: number): void {
    clearTimeout(this.#timer);
    this.#timer = setTimeout(() => this.#check(), delay);
  }

  #check(): void {
    this.#timer = undefined;
    const remaining = this.#lastActivity + this.#options.idleMs - Date.now();
    if (remaining > 0) this.#schedule(remaining);
    else this.#setIdle(true);
  }

  #setIdle(idle: boolean): void {
    if (idle === this.#idle) return;
    this.#idle = idle;
    // While idle no timer runs: the next input or visibility change wakes the detector.
    if (idle) {
      clearTimeout(this.#timer);
      this.#timer = undefined;
    }
    this.#options.onChange(idle);
  }
}
