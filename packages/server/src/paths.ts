import { fileURLToPath } from 'node:url';

/** Where the demo web app is built (packages/demo/dist), the same from src/ and from dist/. */
export const DEMO_STATIC_DIR = fileURLToPath(new URL('../../demo/dist/', import.meta.url));
