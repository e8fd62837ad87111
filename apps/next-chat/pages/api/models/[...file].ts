// The model files for the in-browser engine (`/models/*` is rewritten here in next.config.ts),
// with Content-Length for download progress and the Range requests its cache resumes with.
// A Pages Router API route: App Router route handlers cannot send Content-Length.
import { homedir } from 'node:os';
import { join } from 'node:path';
import { createModelFilesHandler } from '@hearth/next';
import type { NextApiRequest, NextApiResponse } from 'next';

export const config = { api: { bodyParser: false, responseLimit: false } };

const serve = createModelFilesHandler({
  dir: process.env.HEARTH_MODELS_DIR ?? join(homedir(), '.cache', 'hearth', 'models'),
});

export default function handler(req: NextApiRequest, res: NextApiResponse): Promise<void> {
  const { file } = req.query;
  return serve(req, res, Array.isArray(file) ? file.join('/') : (file ?? ''));
}
