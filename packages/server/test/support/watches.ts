import type { SessionOptions } from '../../src/core/session.js';

/** A watch index that watches nobody: session unit tests deliver frames through the user's own group. */
export const noWatches: SessionOptions['watches'] = {
  watch: async () => ({ want: async () => {}, unwant: () => {}, close: () => {} }),
};
