// The result rows → ratios → Markdown/SVG path on hand-made rows (no engines run here).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { markdown, ratios, svg } from '../lib/report.mjs';
import { median, rowsFrom, unavailableRows } from '../lib/stats.mjs';

const base = { suite: 'native', model: 'm', threads: 1 };
const rows = [
  ...rowsFrom({ ...base, engine: 'llama.cpp' }, { decode_tok_s: [100, 90, 110], load_ms: [200] }),
  ...rowsFrom(
    { ...base, engine: 'hearth', peer: 'llama.cpp' },
    { decode_tok_s: [50, 60, 40, 70], load_ms: [100] },
  ),
  ...unavailableRows(
    { ...base, threads: 2, engine: 'hearth', peer: 'llama.cpp' },
    ['decode_tok_s'],
    'n/a (no threaded build)',
  ),
  ...rowsFrom({ ...base, threads: 2, engine: 'llama.cpp' }, { decode_tok_s: [80] }),
];

test('median of odd and even counts, null when empty', () => {
  assert.equal(median([3, 1, 2]), 2);
  assert.equal(median([4, 1, 3, 2]), 2.5);
  assert.equal(median([]), null);
});

test('ratios are oriented so that above 1 means Hearth is better', () => {
  const r = ratios(rows);
  const decode = r.find((x) => x.metric === 'decode_tok_s' && x.threads === 1);
  const load = r.find((x) => x.metric === 'load_ms');
  assert.equal(decode?.ratio, 55 / 100);
  assert.equal(load?.ratio, 2, 'half the load time is 2×');
  const missing = r.find((x) => x.threads === 2);
  assert.equal(missing?.ratio, null);
  assert.equal(missing?.note, 'n/a (no threaded build)');
});

test('the Markdown and SVG reports show values, ratios and notes', () => {
  const res = {
    date: '2026-01-01',
    machine: {
      cpu: 'CPU',
      cpu_flags: ['avx2'],
      nproc: 2,
      memory_bytes: 2 ** 30,
      platform: 'linux x64',
      node: 'v20',
    },
    suites: [{ name: 'native', description: 'd', options: {} }],
    rows,
    ratios: ratios(rows),
    notes: ['busy'],
    errors: [],
  };
  const md = markdown(res);
  assert.match(md, /\| m \| 1 \| hearth \| 100 \| 55\.0 \|/);
  assert.match(md, /\| m \| 1 \| 2\.00× \| 0\.55× \|/);
  assert.match(md, /n\/a \(no threaded build\)/);
  assert.match(md, /- busy/);
  const chart = svg(res);
  assert.match(chart, /<title>Hearth \/ peer speed ratios, 2026-01-01<\/title>/);
  assert.match(chart, /0\.55×/);
});
