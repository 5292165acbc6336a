/** Builds the operations page into `outdir` (default packages/admin/dist) and returns that folder. */
export function buildAdmin(options?: { outdir?: string; minify?: boolean }): Promise<string>;
