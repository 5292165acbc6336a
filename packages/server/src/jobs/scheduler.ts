import type { LeaseStore } from '../core/ports.js';
import type { Logger } from '../logger.js';

/**
 * The owner of time: every periodic job of the process runs from here, never overlapping itself, with its
 * failures logged instead of thrown. Jobs that must run on one process at a time take a lease first.
 */
export class Scheduler {
  private readonly timers: NodeJS.Timeout[] = [];
  private readonly leases = new Set<string>();
  private stopped = false;

  constructor(
    private readonly logger: Logger,
    private readonly store: LeaseStore,
    private readonly holder: string,
  ) {}

  /** Runs `job` every `ms`, skipping a beat while the previous run is still going. */
  every(name: string, ms: number, job: () => Promise<unknown>): void {
    let running = false;
    const timer = setInterval(() => {
      if (running || this.stopped) return;
      running = true;
      job()
        .catch((error) => this.logger.warn({ err: error, job: name }, 'background job failed'))
        .finally(() => {
          running = false;
        });
    }, ms);
    timer.unref();
    this.timers.push(timer);
  }

  /** Like `every`, on whichever process holds the job's lease (taken for one interval, renewed by its holder). */
  leased(name: string, ms: number, job: () => Promise<unknown>): void {
    this.every(name, ms, async () => {
      if (!(await this.store.acquireLease(name, this.holder, ms + Math.min(ms, 30_000)))) return;
      this.leases.add(name);
      const started = Date.now();
      const result = await job();
      this.logger.debug({ job: name, ms: Date.now() - started, result }, 'background job done');
    });
  }

  /** Stops every timer and gives back the leases this process holds. */
  async stop(): Promise<void> {
    this.stopped = true;
    for (const timer of this.timers) clearInterval(timer);
    await Promise.all(
      [...this.leases].map((name) => this.store.releaseLease(name, this.holder).catch(() => {})),
    );
  }
}
