// The result rows → ratios → Markdown/SVG path on hand-made rows (no engines run here).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { adapterLabel, markdown, ratios, svg } from '../lib/report.mjs';
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

test('GPU suite rows: an adapter column, GPU/CPU and GPU/peer-GPU ratio tables', () => {
  const lavapipe = {
    name: 'llvmpipe (LLVM 15.0.6, 256 bits)',
    backend: 'vulkan',
    device_type: 'cpu',
    software: true,
  };
  const g = { suite: 'gpu', model: 'm', threads: 2 };
  const gpuRows = [
    ...rowsFrom({ ...g, engine: 'hearth' }, { decode_tok_s: [40], pp16_tok_s: [80] }),
    ...rowsFrom(
      { ...g, engine: 'hearth-gpu', adapter: lavapipe, peer: ['hearth', 'llama.cpp-gpu'] },
      { decode_tok_s: [10], pp16_tok_s: [20] },
    ),
    ...rowsFrom(
      { ...g, engine: 'llama.cpp-gpu', adapter: { ...lavapipe, name: 'Vulkan0: llvmpipe' } },
      { decode_tok_s: [5], pp16_tok_s: [40] },
    ),
  ];
  const r = ratios(gpuRows);
  assert.deepEqual(
    r.map((x) => [x.engine, x.peer, x.metric, x.ratio]),
    [
      ['hearth-gpu', 'hearth', 'decode_tok_s', 0.25],
      ['hearth-gpu', 'llama.cpp-gpu', 'decode_tok_s', 2],
      ['hearth-gpu', 'hearth', 'pp16_tok_s', 0.25],
      ['hearth-gpu', 'llama.cpp-gpu', 'pp16_tok_s', 0.5],
    ],
  );
  const md = markdown({
    date: '2026-01-01',
    machine: {
      cpu: 'CPU',
      cpu_flags: [],
      nproc: 2,
      memory_bytes: 2 ** 30,
      platform: 'p',
      node: 'v',
    },
    suites: [{ name: 'gpu', description: 'gpu vs cpu', options: {} }],
    rows: gpuRows,
    ratios: r,
    notes: [],
    errors: [],
  });
  assert.match(md, /\| model \| threads \| engine \| adapter \| prefill 16 \(tok\/s\) \| decode/);
  assert.match(md, /\| m \| 2 \| hearth \| — \| 80\.0 \| 40\.0 \|/);
  assert.match(
    md,
    /\| m \| 2 \| hearth-gpu \| llvmpipe \(LLVM 15\.0\.6, 256 bits\) \(vulkan, software\) \| 20\.0 \| 10\.0 \|/,
  );
  assert.match(md, /hearth-gpu \/ hearth \(× ; above 1 means hearth-gpu is faster or smaller\):/);
  assert.match(md, /hearth-gpu \/ llama\.cpp-gpu \(×/);
  assert.match(md, /\| m \| 2 \| 0\.25× \| 0\.25× \|/);
  assert.match(md, /\| m \| 2 \| 0\.50× \| 2\.00× \|/);
  assert.equal(adapterLabel(undefined), '—');
  assert.match(svg({ date: 'd', ratios: r }), /hearth-gpu vs llama\.cpp-gpu/);
});

test('the gpu suite skips with a note, and no rows, where no adapter can be had', async () => {
  const { run } = await import('../suites/gpu.mjs');
  const notes = [];
  const out = await run(
    /** @type {any} */ ({
      // A `hearth-bench` whose adapter probe fails, as on a machine without any adapter.
      hearthBench: 'false',
      allowSoftwareGpu: false,
      threads: [1],
      models: [],
      log: () => {},
      note: (m) => notes.push(m),
    }),
  );
  assert.deepEqual(out, []);
  assert.equal(notes.length, 1);
  assert.match(notes[0], /^gpu: skipped: no GPU adapter/);
});
