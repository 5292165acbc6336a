import { describe, expect, it } from 'vitest';
import { expiryOf } from '../src/custom-status-view.js';
import { expiryText } from '../src/custom-view.js';

describe('the custom status expiry picker', () => {
  const now = new Date(2026, 11, 4, 17, 20, 0);

  it('turns each choice into the time it clears at', () => {
    expect(expiryOf('never', now, '')).toBeNull();
    expect(expiryOf('30m', now, '')).toEqual(new Date(2026, 11, 4, 17, 50, 0));
    expect(expiryOf('1h', now, '')).toEqual(new Date(2026, 11, 4, 18, 20, 0));
    expect(expiryOf('4h', now, '')).toEqual(new Date(2026, 11, 4, 21, 20, 0));
    // "Today" ends at the next local midnight.
    expect(expiryOf('today', now, '')).toEqual(new Date(2026, 11, 5, 0, 0, 0));
    // A datetime-local value is local time.
    expect(expiryOf('custom', now, '2026-12-24T18:30')).toEqual(new Date(2026, 11, 24, 18, 30, 0));
    expect(expiryOf('custom', now, '')).toBeInstanceOf(Error);
    expect(expiryOf('custom', now, 'soon')).toBeInstanceOf(Error);
  });

  it('says when a status clears: the time today, the date later, or never', () => {
    expect(expiryText(null, now)).toBe('Stays until cleared');
    expect(expiryText(new Date(2026, 11, 4, 18, 20).toISOString(), now)).toMatch(/^Clears at .*20/);
    expect(expiryText(new Date(2026, 11, 24, 18, 30).toISOString(), now)).toMatch(/^Clears on .*2026/);
  });
});
