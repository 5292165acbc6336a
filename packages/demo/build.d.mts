/** Builds the demo into `outdir` (default packages/demo/dist) and returns that folder. */
export function buildDemo(options?: { outdir?: string; minify?: boolean }): Promise<string>;
