/**
 * The page side of the WebGL prototype's test and benchmark: loads a GGUF file
 * and hearth-wasm, then `webgl.check` compares the WebGL product with the
 * float64 reference and with Hearth's own wasm kernels (`WasmMatrix.matmul`) on
 * real weight matrices, and `webgl.bench` times both.
 */

import { type GlMatrix, type QuantType, WebGlMatmul } from './matmul.js';
import { activations, maxScaledError, referenceMatmul } from './reference.js';

/** The slice of hearth-wasm's generated bindings used here. */
interface WasmMatrix {
  readonly rows: number;
  readonly cols: number;
  readonly type: string;
  readonly offset: number;
  matmul(x: Float32Array, nTok: number): Float32Array;
  free(): void;
}
interface HearthWasm {
  default(): Promise<unknown>;
  WasmMatrix: { fromGguf(bytes: Uint8Array, name: string): WasmMatrix };
  simdLevel(): string;
  threadCount(): number;
}

/** One matrix on both engines. */
interface Pair {
  name: string;
  type: QuantType;
  rows: number;
  cols: number;
  bytes: Uint8Array;
  wasm: WasmMatrix;
  gl: GlMatrix;
  uploadMs: number;
}

let file: Uint8Array | undefined;
let wasm: HearthWasm | undefined;
let gl: WebGlMatmul | undefined;

/** Fetches the model and initialises hearth-wasm and the WebGL context; returns what runs. */
async function setup(modelUrl: string, wasmUrl: string) {
  const res = await fetch(modelUrl);
  if (!res.ok) throw new Error(`${modelUrl}: HTTP ${res.status}`);
  file = new Uint8Array(await res.arrayBuffer());
  wasm = (await import(wasmUrl)) as HearthWasm;
  await wasm.default();
  gl = WebGlMatmul.create();
  return { gl: gl.info, simd: wasm.simdLevel(), wasmThreads: wasm.threadCount() };
}

function ready() {
  if (!file || !wasm || !gl) throw new Error('call webgl.setup first');
  return { file, wasm, gl };
}

/** Loads tensor `name` into the wasm engine and a WebGL texture. */
function pair(name: string): Pair {
  const { file, wasm, gl } = ready();
  const w = wasm.WasmMatrix.fromGguf(file, name);
  const type = w.type as QuantType;
  if (type !== 'Q4_1' && type !== 'Q8_0') throw new Error(`${name}: ${w.type} is not supported`);
  const size = (w.rows * w.cols * (type === 'Q4_1' ? 20 : 34)) / 32;
  const bytes = file.subarray(w.offset, w.offset + size);
  const t0 = performance.now();
  const m = gl.upload(type, w.rows, w.cols, bytes);
  // Texture uploads are lazy in some drivers: a 1-row product forces this one.
  gl.matmul(m, new Float32Array(w.cols), 1);
  const uploadMs = performance.now() - t0;
  return { name, type, rows: w.rows, cols: w.cols, bytes, wasm: w, gl: m, uploadMs };
}

function free(p: Pair) {
  p.wasm.free();
  ready().gl.release(p.gl);
}

/** Errors of both engines against the float64 reference, scaled by Σ|w·x| per output. */
function check(name: string, nTok: number) {
  const { gl } = ready();
  const p = pair(name);
  try {
    const x = activations(nTok * p.cols, 0x5eed + nTok);
    const ref = referenceMatmul(p.type, p.bytes, p.rows, p.cols, x, nTok);
    const got = gl.matmul(p.gl, x, nTok);
    const cpu = p.wasm.matmul(x, nTok);
    // Same-position argmax agreement, as a readable sanity line next to the errors.
    let agree = 0;
    for (let t = 0; t < nTok; t++) {
      const a = argmax(got, t * p.rows, p.rows);
      const b = argmax(ref.out, t * p.rows, p.rows);
      if (a === b) agree++;
    }
    return {
      name,
      type: p.type,
      rows: p.rows,
      cols: p.cols,
      nTok,
      glError: maxScaledError(got, ref.out, ref.absSum),
      wasmError: maxScaledError(cpu, ref.out, ref.absSum),
      glVsWasm: maxScaledError(got, Float64Array.from(cpu), ref.absSum),
      argmaxAgree: agree,
      finite: got.every(Number.isFinite),
    };
  } finally {
    free(p);
  }
}

function argmax(a: ArrayLike<number>, start: number, n: number): number {
  let best = 0;
  for (let i = 1; i < n; i++) if ((a[start + i] ?? 0) > (a[start + best] ?? 0)) best = i;
  return best;
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? (s[m] ?? 0) : ((s[m - 1] ?? 0) + (s[m] ?? 0)) / 2;
};

/** Times `f` `reps` times (after one warm-up call); all samples in ms. */
function time(reps: number, f: () => void): number[] {
  f();
  const out: number[] = [];
  for (let i = 0; i < reps; i++) {
    const t0 = performance.now();
    f();
    out.push(performance.now() - t0);
  }
  return out;
}

/**
 * For each tensor and token count: ms per product on WebGL with its readback
 * (`gl_ms`), WebGL per product when `pipeline` products (2 for batches) are queued
 * before one readback (`gl_pipelined_ms`: GPU work without the per-call sync), and Hearth's
 * wasm kernel (`wasm_ms`); plus the weight upload and the bare round trip of a
 * 4×32 product (`gl_roundtrip_ms`: the fixed cost of one call).
 */
function bench(spec: {
  tensors: { name: string; tokens: number[] }[];
  reps: number;
  pipeline: number;
}) {
  const { gl } = ready();
  const rows: Record<string, unknown>[] = [];
  // The fixed cost: a product so small that the GPU work is nothing.
  const tiny = gl.upload('Q8_0', 4, 32, new Uint8Array(4 * 34));
  const tinyX = new Float32Array(32);
  const roundtrip = time(Math.max(20, spec.reps), () => gl.matmul(tiny, tinyX, 1));
  gl.release(tiny);
  rows.push({ metric: 'gl_roundtrip_ms', value: median(roundtrip), samples: roundtrip });
  for (const { name, tokens } of spec.tensors) {
    const p = pair(name);
    try {
      for (const nTok of tokens) {
        const x = activations(nTok * p.cols, 7 + nTok);
        const base = { tensor: name, type: p.type, rows: p.rows, cols: p.cols, tokens: nTok };
        const glMs = time(spec.reps, () => gl.matmul(p.gl, x, nTok));
        // Batches are long GPU jobs already: 2 queued show the overlap without minutes of waiting.
        const k = nTok === 1 ? spec.pipeline : 2;
        const pipelined = time(spec.reps, () => {
          for (let i = 0; i < k; i++) gl.dispatch(p.gl, x, nTok);
          gl.read(p.gl, nTok);
        }).map((ms) => ms / k);
        const wasmMs = time(spec.reps, () => p.wasm.matmul(x, nTok));
        rows.push(
          { ...base, metric: 'gl_ms', value: median(glMs), samples: glMs },
          { ...base, metric: 'gl_pipelined_ms', value: median(pipelined), samples: pipelined },
          { ...base, metric: 'wasm_ms', value: median(wasmMs), samples: wasmMs },
        );
      }
      rows.push({
        tensor: name,
        type: p.type,
        rows: p.rows,
        cols: p.cols,
        metric: 'gl_upload_ms',
        value: p.uploadMs,
        samples: [p.uploadMs],
        bytes: p.bytes.byteLength,
      });
    } finally {
      free(p);
    }
  }
  return rows;
}

/** The `code` of the error each bad input gives (the error paths of both engines). */
function errors() {
  const { file, wasm, gl } = ready();
  const code = (f: () => unknown) => {
    try {
      f();
      return 'no error';
    } catch (e) {
      return String((e as { code?: unknown }).code);
    }
  };
  return {
    missingTensor: code(() => wasm.WasmMatrix.fromGguf(file, 'no.such.weight')),
    vectorTensor: code(() => wasm.WasmMatrix.fromGguf(file, 'output_norm.weight')),
    notGguf: code(() => wasm.WasmMatrix.fromGguf(new Uint8Array(64), 'x')),
    shortWeights: code(() => gl.upload('Q4_1', 4, 32, new Uint8Array(79))),
    oddRows: code(() => gl.upload('Q8_0', 3, 32, new Uint8Array(3 * 34))),
  };
}

/** What the test and the bench script call through `page.evaluate`. */
const api = { setup, check, bench, errors };
(globalThis as unknown as { webgl: typeof api }).webgl = api;
