#!/usr/bin/env node
// The embeddings benchmark: sentences per second for all-MiniLM-L6-v2 at batch 1 and
// batch 32 with 128-token texts.
//
// - Node: Hearth native (`EmbeddingRunner`, @hearth/node, F32 and Q8_0) vs onnxruntime-node
//   (the int8 ONNX model through Hearth's ONNX adapter: tokenization and pooling in JS,
//   the encoder in onnxruntime).
// - Chromium (one headless browser, one page per engine): Hearth wasm vs transformers.js
//   (@huggingface/transformers, wasm backend, the same int8 ONNX model from a local path,
//   `env.allowRemoteModels = false`, no hub).
//
// `measureEmbeddings(options)` returns rows in the schema of bench/README.md (suite
// `embeddings`); run directly (`node bench/embeddings/run.mjs [--reps N]`) it writes
// bench/results/embeddings-<date>.json and .md.

import {
  createReadStream,
  mkdirSync,
  mkdtempSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { createServer } from 'node:http';
import { createRequire } from 'node:module';
import { cpus, homedir, tmpdir } from 'node:os';
import { dirname, extname, join, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const require = createRequire(import.meta.url);
const MODELS = process.env.HEARTH_MODELS_DIR ?? join(homedir(), '.cache', 'hearth', 'models');
const DIR = join(MODELS, 'all-MiniLM-L6-v2');
const ONNX = join(MODELS, 'all-MiniLM-L6-v2-int8.onnx');
const MODEL = 'all-minilm-l6-v2';
const SUITE = 'embeddings';
const METRICS = {
  load_ms: { unit: 'ms', better: 'lower' },
  batch1_sentences_s: { unit: 'sentences/s', better: 'higher' },
  batch32_sentences_s: { unit: 'sentences/s', better: 'higher' },
};

function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

function rows(base, samples) {
  return Object.entries(samples).map(([metric, xs]) => ({
    suite: SUITE,
    model: MODEL,
    ...base,
    metric,
    value: median(xs),
    unit: METRICS[metric]?.unit ?? '',
    better: METRICS[metric]?.better ?? 'higher',
    samples: xs,
  }));
}

const PARAGRAPH =
  'Local inference keeps data on the device, which matters for privacy, latency and cost. ' +
  'A small sentence embedding model turns each paragraph of a document into a vector, and ' +
  'a search compares the vector of a question with all of them to find the passages that ' +
  'answer it. Browsers now run such models with WebAssembly and SIMD instructions, while ' +
  'servers and laptops run them natively on every core. The same model, tokenizer and ' +
  'pooling must give the same vectors everywhere, or an index built in one place cannot ' +
  'be searched in another. Benchmarks therefore compare engines on identical inputs, ' +
  'measure throughput at several batch sizes, and check that the vectors agree closely ' +
  'enough to be interchangeable in practice for retrieval tasks of every kind.';

/** 32 distinct texts of exactly 128 tokens ([CLS] and [SEP] included), by Hearth's tokenizer. */
async function texts128(runner) {
  const words = PARAGRAPH.split(' ');
  const out = [];
  for (let k = 0; out.length < 32; k++) {
    const rotated = [...words.slice(k % words.length), ...words.slice(0, k % words.length)];
    let lo = 1;
    let hi = rotated.length;
    // The longest word prefix with at most 128 tokens, then pad with single-token words.
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      const n = (await runner.encode(rotated.slice(0, mid).join(' '))).ids.length;
      if (n <= 128) lo = mid;
      else hi = mid - 1;
    }
    let text = rotated.slice(0, lo).join(' ');
    for (let n = (await runner.encode(text)).ids.length; n < 128; n++) text += ' the';
    const n = (await runner.encode(text)).ids.length;
    if (n !== 128) throw new Error(`text ${out.length} has ${n} tokens, not 128`);
    out.push(text);
  }
  return out;
}

async function timeEmbed(embed, texts, reps) {
  const out = {};
  await embed(texts.slice(0, 2)); // warm-up
  for (const b of [1, 32]) {
    const n = b === 1 ? 8 : 32;
    const xs = [];
    for (let r = 0; r < reps; r++) {
      const t = performance.now();
      for (let i = 0; i < n; i += b) await embed(texts.slice(i, i + b));
      xs.push((n * 1000) / (performance.now() - t));
    }
    out[`batch${b}_sentences_s`] = xs;
  }
  return out;
}

async function nodeRows(texts, reps, log) {
  const { EmbeddingRunner } = await import('@hearth/runner');
  const out = [];
  const engines = [
    ['hearth', () => EmbeddingRunner.load(DIR)],
    ['hearth-q8_0', () => EmbeddingRunner.load(DIR, { quantize: true })],
    [
      'onnxruntime-node',
      () =>
        EmbeddingRunner.load(
          {
            onnx: ONNX,
            tokenizer: join(DIR, 'tokenizer.json'),
            pooling: join(DIR, '1_Pooling', 'config.json'),
            modules: join(DIR, 'modules.json'),
            sentenceConfig: join(DIR, 'sentence_bert_config.json'),
          },
          { sessionOptions: { intraOpNumThreads: 1, interOpNumThreads: 1 } },
        ),
    ],
  ];
  for (const [engine, load] of engines) {
    log(`embeddings: node ${engine}`);
    const t = performance.now();
    const runner = await load();
    const loadMs = performance.now() - t;
    const samples = await timeEmbed(
      (batch) => runner.embed(batch, { batchSize: batch.length }),
      texts,
      reps,
    );
    runner.dispose();
    out.push(
      ...rows(
        {
          engine,
          ...(engine.startsWith('hearth') ? { peer: 'onnxruntime-node' } : {}),
          threads: 1,
          note:
            engine === 'onnxruntime-node'
              ? 'int8 ONNX, intraOpNumThreads 1'
              : engine === 'hearth'
                ? 'F32 SafeTensors, native, 1 thread'
                : 'Q8_0 quantized at load, native, 1 thread',
        },
        { load_ms: [loadMs], ...samples },
      ),
    );
  }
  return out;
}

const MIME = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.wasm': 'application/wasm',
};

/** A static server (cross-origin isolated, so both engines may use threads) over `mounts`. */
async function serve(mounts) {
  const prefixes = Object.keys(mounts).sort((a, b) => b.length - a.length);
  const server = createServer((req, res) => {
    for (const [k, v] of Object.entries({
      'Cross-Origin-Opener-Policy': 'same-origin',
      'Cross-Origin-Embedder-Policy': 'require-corp',
      'Cross-Origin-Resource-Policy': 'same-origin',
    }))
      res.setHeader(k, v);
    const path = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname);
    const prefix = prefixes.find((p) => path.startsWith(p));
    const root = prefix && resolve(mounts[prefix]);
    const file = root && resolve(join(root, path.slice(prefix.length)));
    let size;
    try {
      size = file?.startsWith(root + sep) && statSync(file).isFile() ? statSync(file).size : -1;
    } catch {
      size = -1;
    }
    if (size < 0) {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, {
      'Content-Type': MIME[extname(file)] ?? 'application/octet-stream',
      'Content-Length': size,
    });
    createReadStream(file).pipe(res);
  });
  await new Promise((ok) => server.listen(0, '127.0.0.1', ok));
  return { origin: `http://127.0.0.1:${server.address().port}`, close: () => server.close() };
}

async function browserRows(texts, reps, log) {
  const { chromium } = await import('playwright-core');
  const runnerDir = dirname(require.resolve('@hearth/runner/package.json'));
  // `@noble/hashes` (the runner's SHA-256 in browsers), as the runner resolves it.
  const nobleDir = dirname(
    createRequire(join(runnerDir, 'package.json')).resolve('@noble/hashes/sha2.js'),
  );
  const ortDir = dirname(
    require.resolve('onnxruntime-web/ort-wasm-simd-threaded.wasm', { paths: [runnerDir] }),
  );
  const tjsMain = require.resolve('@huggingface/transformers');
  const tjsDir = resolve(dirname(tjsMain), '..');
  const tjsOrt = dirname(
    require.resolve('onnxruntime-web/ort-wasm-simd-threaded.wasm', { paths: [tjsDir] }),
  );
  // transformers.js reads <localModelPath>/<id>/{config.json, tokenizer*.json, onnx/model_quantized.onnx}.
  const tjsModels = mkdtempSync(join(tmpdir(), 'hearth-bench-tjs-'));
  const id = join(tjsModels, 'all-MiniLM-L6-v2');
  mkdirSync(join(id, 'onnx'), { recursive: true });
  for (const f of ['config.json', 'tokenizer.json', 'tokenizer_config.json']) {
    symlinkSync(join(DIR, f), join(id, f));
  }
  symlinkSync(ONNX, join(id, 'onnx', 'model_quantized.onnx'));
  const server = await serve({
    '/': join(here, 'web'),
    '/runner/': runnerDir,
    '/noble-hashes/': nobleDir,
    '/ort/': ortDir,
    '/tjs/': tjsDir,
    '/tjs-ort/': tjsOrt,
    '/tjs-models/': tjsModels,
    '/models/': MODELS,
  });
  const browser = await chromium.launch({
    executablePath: process.env.HEARTH_CHROMIUM ?? '/usr/bin/chromium',
    args: ['--headless=new', '--no-sandbox', '--disable-quic', '--no-first-run'],
  });
  const out = [];
  try {
    for (const engine of ['hearth', 'hearth-q8', 'transformers.js']) {
      log(`embeddings: chromium ${engine}`);
      const page = await browser.newPage();
      const errors = [];
      page.on('pageerror', (e) => errors.push(e.message));
      await page.goto(`${server.origin}/index.html`);
      await page.waitForSelector('body[data-ready="true"]', { state: 'attached', timeout: 30_000 });
      const r = await page.evaluate(
        ([e, t, n]) => window.benchEmbeddings(e, t, [1, 32], n),
        [engine, texts, reps],
      );
      await page.close();
      if (errors.length) throw new Error(`${engine}: ${errors.join('; ')}`);
      const name =
        engine === 'hearth-q8' ? 'hearth-wasm-q8_0' : engine === 'hearth' ? 'hearth-wasm' : engine;
      out.push(
        ...rows(
          {
            engine: name,
            ...(engine.startsWith('hearth') ? { peer: 'transformers.js' } : {}),
            threads: engine.startsWith('hearth') ? 1 : r.info.threads,
            note: `chromium, crossOriginIsolated=${r.crossOriginIsolated}${engine === 'transformers.js' ? ', int8 ONNX, onnxruntime-web wasm' : engine === 'hearth' ? ', F32' : ', Q8_0'}`,
          },
          r.samples,
        ),
      );
    }
  } finally {
    await browser.close();
    server.close();
    rmSync(tjsModels, { recursive: true, force: true });
  }
  return out;
}

/** Runs the suite; `reps` repetitions per measurement (median reported). */
export async function measureEmbeddings({ reps = 3, log = console.error } = {}) {
  // One thread for every engine: hearth-core's rayon pool reads this when it starts (in this
  // process, on the first native embed); restored afterwards for other suites' children.
  const saved = process.env.RAYON_NUM_THREADS;
  process.env.RAYON_NUM_THREADS = '1';
  try {
    const { EmbeddingRunner } = await import('@hearth/runner');
    // The wasm engine for the tokenizer: the native thread pool is not started yet.
    const probe = await EmbeddingRunner.load(DIR, { backend: 'wasm' });
    const texts = await texts128(probe);
    probe.dispose();
    return [...(await nodeRows(texts, reps, log)), ...(await browserRows(texts, reps, log))];
  } finally {
    if (saved === undefined) delete process.env.RAYON_NUM_THREADS;
    else process.env.RAYON_NUM_THREADS = saved;
  }
}

/** Hearth/peer ratios of the sentences/s rows. */
export function ratios(rs) {
  return rs
    .filter((r) => r.peer && r.metric.endsWith('_sentences_s'))
    .map((r) => {
      const p = rs.find((x) => x.engine === r.peer && x.metric === r.metric);
      return {
        engine: r.engine,
        peer: r.peer,
        metric: r.metric,
        ratio: p ? r.value / p.value : null,
      };
    });
}

function markdown(rs, date) {
  const fmt = (v) => (v === null ? 'n/a' : v >= 100 ? v.toFixed(0) : v.toFixed(1));
  const lines = [
    `# Embeddings benchmark (${date})`,
    '',
    'all-MiniLM-L6-v2, texts of 128 tokens; sentences/s (median), load in ms. Batch 1: 8 texts one by one; batch 32: one batch of 32.',
    '',
    '| engine | threads | load ms | batch 1 sent/s | batch 32 sent/s | note |',
    '| --- | --- | --- | --- | --- | --- |',
  ];
  for (const engine of [...new Set(rs.map((r) => r.engine))]) {
    const get = (m) => rs.find((r) => r.engine === engine && r.metric === m);
    const any = get('batch1_sentences_s');
    lines.push(
      `| ${engine} | ${any?.threads ?? ''} | ${fmt(get('load_ms')?.value ?? null)} | ${fmt(any?.value ?? null)} | ${fmt(get('batch32_sentences_s')?.value ?? null)} | ${any?.note ?? ''} |`,
    );
  }
  lines.push('', '| Hearth engine | peer | metric | Hearth / peer |', '| --- | --- | --- | --- |');
  for (const r of ratios(rs)) {
    lines.push(
      `| ${r.engine} | ${r.peer} | ${r.metric} | ${r.ratio === null ? 'n/a' : `${r.ratio.toFixed(2)}×`} |`,
    );
  }
  return `${lines.join('\n')}\n`;
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const i = process.argv.indexOf('--reps');
  const reps = i > 0 ? Number(process.argv[i + 1]) : 3;
  const rs = await measureEmbeddings({ reps });
  const date = new Date().toISOString().slice(0, 16).replace(':', '');
  const dir = join(here, '..', 'results');
  mkdirSync(dir, { recursive: true });
  const meta = {
    schema: 1,
    suite: SUITE,
    date,
    machine: { cpus: cpus().length, model: cpus()[0]?.model, node: process.version },
    options: { reps },
    rows: rs,
    ratios: ratios(rs),
  };
  writeFileSync(join(dir, `embeddings-${date}.json`), `${JSON.stringify(meta, null, 2)}\n`);
  writeFileSync(join(dir, `embeddings-${date}.md`), markdown(rs, date));
  process.stdout.write(markdown(rs, date));
}
