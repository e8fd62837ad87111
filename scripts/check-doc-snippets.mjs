#!/usr/bin/env node
// Docs show code that the tests run: a fenced block right after a marker
//   <!-- snippet: apps/vue-chat/src/App.vue -->
// must equal that file (trailing whitespace aside). Markdown files checked: the
// README, docs/**/*.md and every package's and app's README. Exits 1 on a mismatch.
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';

const root = new URL('..', import.meta.url).pathname;

function markdownFiles(dir) {
  if (!existsSync(dir)) return [];
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return markdownFiles(path);
    return name.endsWith('.md') ? [path] : [];
  });
}

const files = [
  join(root, 'README.md'),
  ...markdownFiles(join(root, 'docs')),
  ...['packages', 'apps'].flatMap((top) =>
    readdirSync(join(root, top))
      .map((name) => join(root, top, name, 'README.md'))
      .filter(existsSync),
  ),
];

const marker = /^<!-- snippet: (\S+) -->\s*$/;
let checked = 0;
const failures = [];
for (const file of files) {
  const lines = readFileSync(file, 'utf8').split('\n');
  for (let i = 0; i < lines.length; i++) {
    const m = lines[i].match(marker);
    if (!m) continue;
    const where = `${relative(root, file)}:${i + 1}`;
    const open = lines[i + 1]?.match(/^(```+|~~~+)/);
    if (!open) {
      failures.push(`${where}: the snippet marker must be followed by a fenced code block`);
      continue;
    }
    const end = lines.findIndex((l, j) => j > i + 1 && l.startsWith(open[1]));
    if (end < 0) {
      failures.push(`${where}: unterminated code block`);
      continue;
    }
    const shown = lines
      .slice(i + 2, end)
      .join('\n')
      .trimEnd();
    const target = join(root, m[1]);
    if (!existsSync(target)) {
      failures.push(`${where}: ${m[1]} does not exist`);
      continue;
    }
    const actual = readFileSync(target, 'utf8').trimEnd();
    if (shown !== actual) failures.push(`${where}: the code block differs from ${m[1]}`);
    checked++;
  }
}
for (const f of failures) console.error(f);
console.log(`doc snippets: ${checked} checked, ${failures.length} failing`);
process.exit(failures.length ? 1 : 0);
