// Vitest global setup: removes the temporary model cache directory that vitest.config.ts made.
import { rm } from 'node:fs/promises';

export async function teardown(): Promise<void> {
  const dir = process.env.HEARTH_CACHE_DIR;
  if (dir?.includes('hearth-cache-test-')) await rm(dir, { recursive: true, force: true });
}
