/**
 * Undo steps: everything the run starts or creates pushes how to undo it, and the stack is undone in reverse on
 * the way out, whatever the way out (success, error, Ctrl-C, the watchdog).
 */

/** Exit status after an interrupt (128 + SIGINT), also used for SIGTERM. */
const EXIT_INTERRUPTED = 130;

/**
 * A stack of undo steps. `run` undoes them once, in reverse; later calls share that one pass. A step that
 * fails is reported and the rest still run, so one stuck process does not leave a database behind.
 */
export function cleanupStack() {
  const steps = [];
  let running = null;
  return {
    /** @param {() => Promise<void> | void} step */
    push(step) {
      steps.push(step);
    },
    run() {
      running ??= (async () => {
        for (const step of steps.reverse()) {
          try {
            await step();
          } catch (error) {
            console.error(`bench: cleanup step failed: ${error.message}`);
          }
        }
      })();
      return running;
    },
  };
}

/** Ctrl-C or a kill still drops the database and deletes the keys. */
export function cleanUpOnSignals(cleanup) {
  for (const signal of ['SIGINT', 'SIGTERM']) {
    process.on(signal, () => {
      console.error(`\nbench: ${signal}, cleaning up`);
      cleanup.run().finally(() => process.exit(EXIT_INTERRUPTED));
    });
  }
}

/**
 * Gives up after `limitS` seconds, cleaning up first. Unreferenced, so it never keeps a finished run alive.
 * @returns {() => void} disarms it
 */
export function startWatchdog(limitS, cleanup) {
  const timer = setTimeout(() => {
    console.error(`bench: still running after ${limitS} s, giving up`);
    cleanup.run().finally(() => process.exit(1));
  }, limitS * 1000);
  timer.unref();
  return () => clearTimeout(timer);
}
