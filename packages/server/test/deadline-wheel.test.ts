import { describe, expect, it } from 'vitest';
import { DeadlineWheel } from '../src/core/deadline-wheel.js';

describe('deadline wheel', () => {
  it('fires a key at or after its deadline, never before, at most one resolution late', () => {
    const wheel = new DeadlineWheel<number>(50);
    wheel.schedule(1, 1_000);
    wheel.schedule(2, 1_001);
    expect(wheel.due(999)).toEqual([]);
    expect(wheel.due(1_000)).toEqual([1]);
    expect(wheel.due(1_049)).toEqual([]);
    expect(wheel.due(1_050)).toEqual([2]);
    expect(wheel.size).toBe(0);
  });

  it('moves a rescheduled key and forgets a cancelled one', () => {
    const wheel = new DeadlineWheel<number>(10);
    wheel.schedule(1, 100);
    wheel.schedule(2, 100);
    wheel.schedule(1, 500);
    wheel.cancel(2);
    expect(wheel.due(400)).toEqual([]);
    expect(wheel.deadlineOf(1)).toBe(500);
    expect(wheel.due(500)).toEqual([1]);
  });

  it('catches up after a long stall, and takes deadlines already in the past', () => {
    const wheel = new DeadlineWheel<string>(10);
    wheel.due(0);
    wheel.schedule('a', 50);
    wheel.schedule('b', 1_000_000);
    expect(wheel.due(500_000)).toEqual(['a']);
    wheel.schedule('late', 10);
    expect(wheel.due(500_001)).toEqual(['late']);
    expect(wheel.due(1_000_000)).toEqual(['b']);
  });

  it('holds a million keys and fires them in one pass', () => {
    const wheel = new DeadlineWheel<number>(25);
    for (let i = 0; i < 1_000_000; i++) wheel.schedule(i, 60_000 + (i % 1_000));
    for (let i = 0; i < 1_000_000; i += 2) wheel.schedule(i, 120_000);
    expect(wheel.due(61_000).length).toBe(500_000);
    expect(wheel.due(120_000).length).toBe(500_000);
  });
});
