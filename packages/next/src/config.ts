/**
 * `withHearth(nextConfig)`: the `next.config` settings Hearth needs.
 *
 * @module
 */

/** The packages Next.js must load with Node's `require`/`import` instead of bundling (the addon is a `.node` binary). */
export const HEARTH_SERVER_PACKAGES = ['@hearth/runner', '@hearth/node'];

/** Headers that make pages cross-origin isolated: `SharedArrayBuffer`, so the wasm engine runs threaded in browsers. */
export const CROSS_ORIGIN_ISOLATION = [
  { key: 'Cross-Origin-Opener-Policy', value: 'same-origin' },
  { key: 'Cross-Origin-Embedder-Policy', value: 'require-corp' },
];

export interface HeaderRule {
  source: string;
  headers: { key: string; value: string }[];
}

/** The parts of `NextConfig` that `withHearth` touches (any other keys pass through). */
export interface HearthNextConfig {
  serverExternalPackages?: string[] | undefined;
  headers?: (() => HeaderRule[] | Promise<HeaderRule[]>) | undefined;
}

/** Options of {@link withHearth}. */
export interface WithHearthOptions {
  /** Send COOP/COEP on every path (default false): for the threaded wasm engine in the page. */
  crossOriginIsolation?: boolean;
}

/**
 * Adds `@hearth/runner` and `@hearth/node` to `serverExternalPackages` (so
 * the native addon and the runner's worker files load from `node_modules` at
 * run time instead of going through the bundler) and, with
 * `crossOriginIsolation`, the COOP/COEP headers on every path.
 */
export function withHearth<T extends HearthNextConfig>(
  config: T = {} as T,
  options: WithHearthOptions = {},
): T & HearthNextConfig {
  const external = [
    ...new Set([...(config.serverExternalPackages ?? []), ...HEARTH_SERVER_PACKAGES]),
  ];
  if (!options.crossOriginIsolation) return { ...config, serverExternalPackages: external };
  const own = config.headers;
  return {
    ...config,
    serverExternalPackages: external,
    headers: async (): Promise<HeaderRule[]> => [
      ...((await own?.()) ?? []),
      { source: '/:path*', headers: CROSS_ORIGIN_ISOLATION },
    ],
  };
}
