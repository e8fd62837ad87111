#!/usr/bin/env node
/**
 * `npm run bench`: Hearth against its peers, in one run on one machine.
 *
 * Builds the native `hearth-bench` binary (and @hearth/runner if it is not
 * built), makes the requantized models, runs every suite in bench/suites/*.mjs
 * and writes bench/results/<date>.json, <date>.md, <date>.svg plus latest.md
 * and latest.svg. See bench/README.md for the flags and the row schema.
 */

import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { load, machine } from './lib/machine.mjs';
import { MODELS, prepareModels } from './lib/models.mjs';
import { markdown, ratios, svg } from './lib/report.mjs';

/**
 * What a suite's `run(ctx)` receives.
 * @typedef {{
 *   quick: boolean, reps: number, threads: number[], prompts: number[], decode: number,
 *   models: import('./lib/models.mjs').BenchModel[], hearthBench: string, root: string,
 *   log: (msg: string) => void, tokens: Record<string, number[]>,
 *   allowSoftwareGpu: boolean, note: (msg: string) => void,
 * }} SuiteContext
 */

const HELP = `npm run bench -- [flags]

  --quick            1 repetition, SmolLM2 Q4_1 only, 1 thread, 32 decode tokens (a smoke test)
  --only LIST        suites to run, comma-separated (native, wasm, gpu, webgpu, embeddings, …; default all)
  --models LIST      model ids (${MODELS.map((m) => m.id).join(', ')})
  --threads LIST     thread counts (default 1,2)
  --reps N           repetitions per measurement, median reported (default 3)
  --out DIR          results folder (default bench/results)
  --no-build         use the already built hearth-bench binary and runner
  --merge            add to today's results file, replacing only what this run measures again
  --allow-software-gpu  GPU suites also run on software adapters (lavapipe, SwiftShader)
  --help`;

const root = fileURLToPath(new URL('..', import.meta.url));
const here = fileURLToPath(new URL('.', import.meta.url));
const list = (s) =>
  s
    ? s
        .split(',')
        .map((x) => x.trim())
        .filter(Boolean)
    : undefined;

function parse() {
  const { values } = parseArgs({
    options: {
      quick: { type: 'boolean', default: false },
      only: { type: 'string' },
      models: { type: 'string' },
      threads: { type: 'string' },
      reps: { type: 'string' },
      out: { type: 'string' },
      'no-build': { type: 'boolean', default: false },
      merge: { type: 'boolean', default: false },
      'allow-software-gpu': { type: 'boolean', default: false },
      help: { type: 'boolean', default: false },
    },
  });
  if (values.help) {
    console.log(HELP);
    process.exit(0);
  }
  const ids =
    list(values.models) ?? (values.quick ? ['smollm2-135m-q4_1'] : MODELS.map((m) => m.id));
  const models = ids.map((id) => {
    const m = MODELS.find((x) => x.id === id);
    if (!m) throw new Error(`unknown model ${id} (known: ${MODELS.map((x) => x.id).join(', ')})`);
    return m;
  });
  const threads = (list(values.threads) ?? (values.quick ? ['1'] : ['1', '2'])).map(Number);
  const reps = Number(values.reps ?? (values.quick ? 1 : 3));
  if (threads.some((t) => !Number.isInteger(t) || t < 1))
    throw new Error('--threads: positive integers');
  if (!Number.isInteger(reps) || reps < 1) throw new Error('--reps: a positive integer');
  return {
    quick: values.quick,
    only: list(values.only),
    models,
    threads,
    reps,
    prompts: [64, 512],
    decode: values.quick ? 32 : 128,
    out: values.out ?? join(here, 'results'),
    build: !values['no-build'],
    merge: values.merge,
    allowSoftwareGpu: values['allow-software-gpu'],
  };
}

const log = (msg) => console.error(`[bench ${new Date().toISOString().slice(11, 19)}] ${msg}`);

function sh(cmd, args, cwd = root) {
  log(`$ ${cmd} ${args.join(' ')}`);
  execFileSync(cmd, args, { cwd, stdio: ['ignore', 'inherit', 'inherit'] });
}

function git(args) {
  try {
    return execFileSync('git', args, { cwd: root, encoding: 'utf8' }).trim();
  } catch {
    return null;
  }
}

async function main() {
  const opts = parse();
  const suiteFiles = readdirSync(join(here, 'suites'))
    .filter((f) => f.endsWith('.mjs'))
    .sort();
  const suites = [];
  for (const f of suiteFiles) {
    const s = await import(pathToFileURL(join(here, 'suites', f)).href);
    if (typeof s.run !== 'function' || typeof s.name !== 'string') {
      throw new Error(`bench/suites/${f} must export name and run(ctx)`);
    }
    if (!opts.only || opts.only.includes(s.name)) suites.push(s);
  }
  if (opts.only) {
    const missing = opts.only.filter((n) => !suites.some((s) => s.name === n));
    if (missing.length) throw new Error(`no such suite: ${missing.join(', ')}`);
  }

  const target = process.env.CARGO_TARGET_DIR ?? join(root, 'target');
  const hearthBench = join(target, 'release', 'hearth-bench');
  if (opts.build) {
    sh('cargo', ['build', '--release', '-p', 'hearth-bench']);
    const runner = join(root, 'packages', 'runner');
    if (
      suites.some((s) => s.name === 'wasm' || s.name === 'webgpu') &&
      (!existsSync(join(runner, 'dist', 'index.js')) ||
        !existsSync(join(runner, 'wasm', 'hearth_wasm_bg.wasm')))
    ) {
      sh('npx', ['turbo', 'run', 'build', '--filter=@hearth/runner']);
    }
  }
  if (!existsSync(hearthBench))
    throw new Error(`${hearthBench} is missing: run without --no-build`);
  await prepareModels(opts.models, hearthBench, log);

  const started = new Date();
  const date = started.toISOString().slice(0, 10);
  const res = {
    schema: 1,
    date,
    started_at: started.toISOString(),
    finished_at: '',
    command: ['npm', 'run', 'bench', '--', ...process.argv.slice(2)].join(' '),
    git: {
      commit: git(['rev-parse', 'HEAD']),
      dirty: (git(['status', '--porcelain']) ?? '') !== '',
    },
    machine: await machine(),
    load: { before: load(), after: /** @type {number[]} */ ([]) },
    options: {
      quick: opts.quick,
      reps: opts.reps,
      threads: opts.threads,
      prompts: opts.prompts,
      decode: opts.decode,
    },
    models: opts.models.map((m) => ({ id: m.id, label: m.label, file: m.path.split('/').pop() })),
    suites: suites.map((s) => ({
      name: s.name,
      description: s.description ?? '',
      started_at: '',
      options: {},
      models: opts.models.map((m) => m.id),
      load: { before: /** @type {number[]} */ ([]), after: /** @type {number[]} */ ([]) },
    })),
    rows: /** @type {any[]} */ ([]),
    ratios: /** @type {any[]} */ ([]),
    notes: /** @type {string[]} */ ([]),
    errors: /** @type {{ suite: string, message: string }[]} */ ([]),
  };
  /** @type {SuiteContext} */
  const ctx = {
    quick: opts.quick,
    reps: opts.reps,
    threads: opts.threads,
    prompts: opts.prompts,
    decode: opts.decode,
    models: opts.models,
    hearthBench,
    root,
    log,
    tokens: {},
    allowSoftwareGpu: opts.allowSoftwareGpu,
    note: (msg) => {
      log(msg);
      res.notes.push(msg);
    },
  };
  for (const [i, s] of suites.entries()) {
    const info = res.suites[i];
    info.started_at = new Date().toISOString();
    info.options = res.options;
    info.load.before = load();
    log(`suite ${s.name}: ${s.description ?? ''}`);
    try {
      // A suite returns its rows, or `{ rows, options }` when it measured with other
      // settings than the run's (the GPU suites on a software adapter: fewer tokens).
      const out = await s.run(ctx);
      if (Array.isArray(out)) res.rows.push(...out);
      else {
        res.rows.push(...out.rows);
        info.options = { ...res.options, ...out.options };
      }
    } catch (e) {
      const message = e instanceof Error ? e.message : String(e);
      log(`suite ${s.name} failed: ${message}`);
      res.errors.push({ suite: s.name, message });
    }
    info.load.after = load();
  }
  res.load.after = load();
  res.finished_at = new Date().toISOString();
  // Same greedy tokens from both native engines: the speed compared is the same work.
  for (const m of opts.models) {
    for (const t of opts.threads) {
      const a = ctx.tokens[`native/hearth/${m.id}/${t}`];
      const b = ctx.tokens[`native/llama.cpp/${m.id}/${t}`];
      if (a && b && a.join() !== b.join()) {
        const same = a.findIndex((x, i) => x !== b[i]);
        res.notes.push(
          `native ${m.id} ${t}t: Hearth's and llama.cpp's greedy decode tokens differ from token ${same} on.`,
        );
      }
    }
  }
  const nproc = res.machine.nproc;
  const busiest = Math.max(
    res.load.before[0],
    res.load.after[0],
    ...res.suites.map((s) => s.load.after[0]),
  );
  if (busiest > nproc * 0.5) {
    res.notes.push(
      `The machine was busy during ${suites.map((s) => s.name).join(', ')} at ${res.options.threads.join(', ')} thread(s) (1-minute load up to ${busiest} on ${nproc} cores): absolute numbers are low and noisy; the ratios compare engines measured back to back.`,
    );
  }
  mkdirSync(opts.out, { recursive: true });
  const base = opts.quick ? `${date}-quick` : date;
  const previous = join(opts.out, `${base}.json`);
  if (opts.merge && existsSync(previous)) {
    // Keep every earlier measurement this run did not redo (suite × model × threads),
    // and the earlier runs' options, load and notes with them.
    const old = JSON.parse(readFileSync(previous, 'utf8'));
    const redone = (r) =>
      suites.some((s) => s.name === r.suite) &&
      opts.models.some((m) => m.id === r.model) &&
      opts.threads.includes(r.threads);
    res.rows = [...old.rows.filter((r) => !redone(r)), ...res.rows];
    res.suites = [...old.suites, ...res.suites];
    res.notes = [...old.notes, ...res.notes];
    res.errors = [...old.errors, ...res.errors];
    res.started_at = old.started_at;
    res.load.before = old.load.before;
  }
  res.ratios = ratios(res.rows);
  writeFileSync(join(opts.out, `${base}.json`), `${JSON.stringify(res, null, 2)}\n`);
  const md = markdown(res);
  const chart = svg(res);
  writeFileSync(join(opts.out, `${base}.md`), md);
  writeFileSync(join(opts.out, `${base}.svg`), chart);
  if (!opts.quick) {
    writeFileSync(
      join(opts.out, 'latest.md'),
      md.replace(`# Hearth benchmark, ${date}`, `# Hearth benchmark (latest: ${date})`),
    );
    writeFileSync(join(opts.out, 'latest.svg'), chart);
  }
  // The repository's formatter owns Markdown and JSON layout: keep `npm run lint` green.
  const biome = join(root, 'node_modules', '.bin', 'biome');
  if (existsSync(biome)) {
    try {
      execFileSync(biome, ['format', '--write', opts.out], { cwd: root, stdio: 'ignore' });
    } catch {
      log('biome could not format the results (they are written unformatted)');
    }
  }
  process.stdout.write(md);
  log(`wrote ${join(opts.out, base)}.{json,md,svg}`);
  if (res.errors.length) process.exitCode = 1;
}

main().catch((e) => {
  console.error(`bench: ${e instanceof Error ? e.message : e}`);
  process.exit(1);
});
