/** The Edge runtime check: the runner needs Node (native addon, worker threads, the file system). */

/**
 * Throws a clear error on the Edge runtime (and other non-Node runtimes).
 *
 * @throws {Error} naming the fix: `export const runtime = 'nodejs'` in the route file.
 */
export function assertNodeRuntime(): void {
  const edge =
    typeof (globalThis as { EdgeRuntime?: unknown }).EdgeRuntime !== 'undefined' ||
    (typeof process !== 'undefined' && process.env?.NEXT_RUNTIME === 'edge');
  if (edge || typeof process === 'undefined' || !process.versions?.node) {
    throw new Error(
      "@hearth/next runs on the Node.js runtime only, not on the Edge runtime: the model runs in a native addon and worker threads. Set `export const runtime = 'nodejs'` in the route file.",
    );
  }
}
