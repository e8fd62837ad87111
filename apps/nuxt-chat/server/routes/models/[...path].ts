import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join, normalize, sep } from 'node:path';

/** `$HEARTH_MODELS_DIR`, default `~/.cache/hearth/models` (filled by `scripts/fetch-models`). */
const modelsDir = process.env.HEARTH_MODELS_DIR ?? join(homedir(), '.cache', 'hearth', 'models');

/** Serves the local test models at /models/ (for the browser chat), never outside that folder. */
export default defineEventHandler(async (event) => {
  const path = normalize(join(modelsDir, getRouterParam(event, 'path') ?? ''));
  const info = path.startsWith(modelsDir + sep)
    ? await stat(path).catch(() => undefined)
    : undefined;
  if (!info?.isFile()) throw createError({ statusCode: 404, statusMessage: 'model not found' });
  const served = await serveStatic(event, {
    getMeta: () => ({ size: info.size, mtime: info.mtime, type: 'application/octet-stream' }),
    getContents: () => createReadStream(path),
  });
  if (served === false) throw createError({ statusCode: 404, statusMessage: 'model not found' });
});
