// apps/leptos-chat (Leptos over hearth-leptos, all Rust) against the shared demo suite.
// `npm run build` builds the app's dist/ (the app's `build` script) before the e2e tests;
// `serve` builds it only when dist/ is missing, then serves it with the test models
// under /models/. After changing the Rust code: `npm run build -w @hearth/leptos-chat`.
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startStaticServer } from '../server.js';
import { defineDemoSuite } from './demo-suite.js';
import { modelsDir } from './fixtures.js';

const app = fileURLToPath(new URL('../../apps/leptos-chat/', import.meta.url));
const dist = join(app, 'dist');

defineDemoSuite('leptos-chat', async () => {
  if (!existsSync(join(dist, 'index.html'))) {
    execFileSync('node', ['build.mjs'], { cwd: app, stdio: 'inherit' });
  }
  return startStaticServer({ '/': dist, '/models/': modelsDir });
});
