// apps/leptos-chat (Leptos over hearth-leptos, all Rust) against the shared demo suite.
// `serve` runs the app's build (a no-op for cargo when `npm run build` already built
// it) and serves dist/ with the test models under /models/.
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startStaticServer } from '../server.js';
import { defineDemoSuite } from './demo-suite.js';
import { modelsDir } from './fixtures.js';

const app = fileURLToPath(new URL('../../apps/leptos-chat/', import.meta.url));

defineDemoSuite('leptos-chat', async () => {
  execFileSync('node', ['build.mjs'], { cwd: app, stdio: 'inherit' });
  return startStaticServer({ '/': join(app, 'dist'), '/models/': modelsDir });
});
