import { IdleDetector, type VisibilitySource } from '@presence/client';
import { afterEach, describe, expect, it } from 'vitest';

/** A stand-in for `document`: an EventTarget whose `hidden` the test sets. */
class FakeDocument extends EventTarget implements VisibilitySource {
  hidden = false;
  set(hidden: boolean): void {
    this.hidden = hidden;
    this.dispatchEvent(new Event('visibilitychange'));
  }
}

let detector: IdleDetector | undefined;
afterEach(() => detector?.stop());

function watch(options: {
  idleMs: number;
  hiddenMs?: number;
  document?: FakeDocument;
  target?: EventTarget;
}) {
  const changes: boolean[] = [];
  let notify = () => {};
  detector = new IdleDetector({
    ...options,
    onChange(idle) {
      changes.push(idle);
      notify();
    },
  });
  const next = () =>
    new Promise<void>((resolve) => {
      notify = resolve;
    });
  return { changes, next };
}

describe('IdleDetector', () => {
  it('goes idle without input and back on input', async () => {
    const target = new EventTarget();
    const { changes, next } = watch({ idleMs: 50, target, document: new FakeDocument() });
    const idle = next();
    detector?.start();
    await idle;
    const active = next();
    target.dispatchEvent(new Event('pointerdown'));
    await active;
    expect(changes).toEqual([true, false]);
  });

  it('counts a page hidden for hiddenMs as idle, and visible again as active', async () => {
    const document = new FakeDocument();
    const { changes, next } = watch({ idleMs: 60_000, hiddenMs: 30, document, target: new EventTarget() });
    detector?.start();
    const idle = next();
    document.set(true);
    await idle;
    const active = next();
    document.set(false);
    await active;
    expect(changes).toEqual([true, false]);
  });
});
