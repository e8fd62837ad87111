// The OpenAI chat-completions API over a local model:
// POST /api/v1/chat/completions (SSE with `stream: true`) and GET /api/v1/models.
import { homedir } from 'node:os';
import { join } from 'node:path';
import { createChatRoute } from '@hearth/next';

// The model runs in Hearth's native addon: the Node.js runtime, never Edge.
export const runtime = 'nodejs';

const modelsDir = process.env.HEARTH_MODELS_DIR ?? join(homedir(), '.cache', 'hearth', 'models');

export const { GET, POST } = createChatRoute({
  // Loaded on the first request, once per process (hot reloads keep it).
  model: process.env.HEARTH_MODEL ?? join(modelsDir, 'SmolLM2-135M-Instruct.Q4_1.gguf'),
  defaults: { temperature: 0.7 },
});
