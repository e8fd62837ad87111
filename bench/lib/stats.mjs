/** Small statistics and process helpers shared by the suites. */

import { spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';

/** The median of `xs` (mean of the middle two for an even count); null when empty. */
export function median(xs) {
  if (!xs.length) return null;
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
}

/** Units and direction of the standard metrics (suites may add their own). */
export const METRICS = {
  load_ms: { unit: 'ms', better: 'lower', label: 'load' },
  ttft_ms: { unit: 'ms', better: 'lower', label: 'TTFT (64-tok prompt)' },
  pp16_tok_s: { unit: 'tok/s', better: 'higher', label: 'prefill 16' },
  pp64_tok_s: { unit: 'tok/s', better: 'higher', label: 'prefill 64' },
  pp512_tok_s: { unit: 'tok/s', better: 'higher', label: 'prefill 512' },
  decode_tok_s: { unit: 'tok/s', better: 'higher', label: 'decode' },
  peak_rss_bytes: { unit: 'bytes', better: 'lower', label: 'peak memory' },
};

/**
 * Rows (one per metric) from a map of samples, in the schema of bench/README.md.
 * @param {{ suite: string, engine: string, model: string, threads: number, peer?: string | string[], note?: string, adapter?: object }} base
 * @param {Record<string, number[]>} samples
 */
export function rowsFrom(base, samples) {
  return Object.entries(samples).map(([metric, xs]) => ({
    ...base,
    metric,
    value: median(xs),
    unit: METRICS[metric]?.unit ?? '',
    better: METRICS[metric]?.better ?? 'higher',
    samples: xs,
  }));
}

/** Rows with `value: null` and a note, for measurements that could not run. */
export function unavailableRows(base, metrics, note) {
  return metrics.map((metric) => ({
    ...base,
    metric,
    value: null,
    unit: METRICS[metric]?.unit ?? '',
    better: METRICS[metric]?.better ?? 'higher',
    samples: [],
    note,
  }));
}

/** Runs a command; resolves with stdout, rejects with its stderr on a non-zero exit. */
export function exec(cmd, args, opts = {}) {
  return new Promise((ok, fail) => {
    const p = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], ...opts });
    let out = '';
    let err = '';
    p.stdout.on('data', (d) => {
      out += d;
    });
    p.stderr.on('data', (d) => {
      err += d;
    });
    p.on('error', fail);
    p.on('close', (code) =>
      code === 0
        ? ok(out)
        : fail(new Error(`${cmd} ${args.join(' ')} exited ${code}: ${err.trim()}`)),
    );
  });
}

/**
 * One `hearth-bench measure` run of `engine` on `model`: its parsed JSON measurement.
 * @param {{ hearthBench: string, reps: number }} ctx
 * @param {{ engine: string, model: { path: string }, threads: number, prompts: number[], decode: number, extra?: string[] }} o
 */
export async function measureNative(ctx, { engine, model, threads, prompts, decode, extra = [] }) {
  const out = await exec(ctx.hearthBench, [
    'measure',
    '--engine',
    engine,
    '--model',
    model.path,
    '--threads',
    String(threads),
    '--reps',
    String(ctx.reps),
    '--prompt',
    prompts.join(','),
    '--decode',
    String(decode),
    ...extra,
  ]);
  return JSON.parse(out);
}

/** A `hearth-bench measure` result's samples by metric, for {@link rowsFrom}. */
export function nativeSamples(m) {
  return {
    load_ms: m.load_ms,
    ttft_ms: m.ttft_ms,
    ...m.prefill_tok_s,
    decode_tok_s: m.decode_tok_s,
    peak_rss_bytes: [m.peak_rss_bytes],
  };
}

/** Peak resident memory (`VmHWM`) of a process, in bytes; 0 if it is gone. */
export function peakRss(pid) {
  try {
    const m = readFileSync(`/proc/${pid}/status`, 'utf8').match(/^VmHWM:\s+(\d+) kB/m);
    return m ? Number(m[1]) * 1024 : 0;
  } catch {
    return 0;
  }
}

/** Process ids below `root` (Linux /proc), with their command lines. */
export function descendants(root) {
  const children = new Map();
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const stat = readFileSync(`/proc/${d}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      const cmd = readFileSync(`/proc/${d}/cmdline`, 'utf8').replaceAll('\0', ' ');
      children.set(Number(d), { ppid, cmd });
    } catch {}
  }
  const out = [];
  const walk = (pid) => {
    for (const [c, info] of children) {
      if (info.ppid === pid) {
        out.push({ pid: c, cmd: info.cmd });
        walk(c);
      }
    }
  };
  walk(root);
  return out;
}
