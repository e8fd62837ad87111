/**
 * The shared runner suite's host in Chromium (vitest browser mode): test
 * models are fetched from the Vite dev server, which serves
 * `$HEARTH_MODELS_DIR` under `/@fs/` (see vitest.config.ts).
 */

import { inject } from 'vitest';

/** The runtime under test. */
export const runtime = 'browser' as const;

const modelsUrl = new URL(`/@fs${inject('modelsDir')}/`, location.href);

/** The bytes of a test model. */
export async function modelBytes(file: string): Promise<Uint8Array<ArrayBuffer>> {
  const response = await fetch(new URL(file, modelsUrl));
  if (!response.ok) throw new Error(`cannot fetch test model ${file}: ${response.status}`);
  return new Uint8Array(await response.arrayBuffer());
}

/** A test model over HTTP (`url`), a URL that answers 404 (`missingUrl`), and how to stop serving. */
export interface Served {
  url: string;
  missingUrl: string;
  close(): Promise<void>;
}

/** The Vite server already serves every test model. */
export async function serveModel(file: string): Promise<Served> {
  return {
    url: new URL(file, modelsUrl).href,
    missingUrl: new URL('missing.gguf', modelsUrl).href,
    close: async () => {},
  };
}
