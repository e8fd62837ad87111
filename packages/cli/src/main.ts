/**
 * `hearth` for Node (`npx hearth …`): the Rust CLI's commands and flags
 * (apps/cli) over the `@hearth/node` addon, so a user needs no Rust
 * toolchain. Same stdout shapes (text, JSON with snake_case keys); progress
 * and timings go to stderr. `embed` needs the Rust CLI (the addon has no
 * embedding models yet).
 *
 * @module
 */

import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { createInterface } from 'node:readline';
import { type ParseArgsConfig, parseArgs } from 'node:util';
import type { NativeModel, NativeSession } from '@hearth/node';

type Addon = typeof import('@hearth/node');
type Message = { role: string; content: string };

/** The addon's generation result (camelCase, as `NativeSession.generate` resolves). */
interface NativeResult {
  text: string;
  tokens: number[];
  promptTokens: number[];
  finishReason: string;
  topLogits: [number, number][];
  timings: Record<string, number>;
}

/** A usage mistake: printed with a hint, exit status 2 (as clap does). */
class UsageError extends Error {}

const USAGE = `Run language models locally (the @hearth/node addon).

Usage: hearth <COMMAND> [OPTIONS]

Commands:
  info      Show what a model file holds (--model PATH [--json])
  tokenize  Print the token ids of a text as a JSON array (--model PATH [--special] [--no-bos] TEXT)
  run       Complete a raw prompt; the text streams to stdout (--model PATH --prompt TEXT [--special] [--json])
  chat      Chat in the terminal with the model's template, or answer --messages FILE once ([--json])
  template  Print the chat prompt the template renders (--model PATH --messages FILE [--add-generation-prompt])
  embed     Sentence embeddings: needs the Rust CLI (cargo install --path apps/cli)

Generation options (run, chat): --max-tokens N (256) --temperature T (0.8) --top-k K (40)
  --top-p P (0.95) --min-p P (0.05) --repeat-penalty R (1) --seed S --stop TEXT (repeatable)
  --ignore-eos --ctx-size N (4096) --threads N
  --backend auto|cpu|gpu (auto: a hardware GPU if there is one) or llama.cpp (Node only)
  --gpu-memory MIB --gpu-layers N --allow-software-gpu

  -h, --help     Print help
  -V, --version  Print version`;

const GEN_OPTIONS = {
  'max-tokens': { type: 'string' },
  temperature: { type: 'string' },
  'top-k': { type: 'string' },
  'top-p': { type: 'string' },
  'min-p': { type: 'string' },
  'repeat-penalty': { type: 'string' },
  seed: { type: 'string' },
  stop: { type: 'string', multiple: true },
  'ignore-eos': { type: 'boolean' },
  'ctx-size': { type: 'string' },
  threads: { type: 'string' },
  backend: { type: 'string' },
  'gpu-memory': { type: 'string' },
  'gpu-layers': { type: 'string' },
  'allow-software-gpu': { type: 'boolean' },
} as const;

type GenValues = {
  [K in keyof typeof GEN_OPTIONS]?: (typeof GEN_OPTIONS)[K] extends { multiple: true }
    ? string[]
    : (typeof GEN_OPTIONS)[K] extends { type: 'boolean' }
      ? boolean
      : string;
};

/** Parses `args` for one command; unknown flags are usage errors. */
function parse<const O extends NonNullable<ParseArgsConfig['options']>>(
  args: string[],
  options: O,
  positionals = false,
) {
  try {
    return parseArgs({ args, options, allowPositionals: positionals, strict: true });
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
}

/** A number flag: `integer` ones must be whole and ≥ 0. */
function num(values: Record<string, unknown>, name: string, fallback: number, integer = false) {
  const raw = values[name];
  if (raw === undefined) return fallback;
  const n = Number(raw);
  if (raw === '' || !Number.isFinite(n) || (integer && (!Number.isSafeInteger(n) || n < 0))) {
    throw new UsageError(`invalid value '${String(raw)}' for '--${name}'`);
  }
  return n;
}

function required(values: Record<string, unknown>, name: string): string {
  const v = values[name];
  if (typeof v !== 'string')
    throw new UsageError(`the required argument '--${name}' was not provided`);
  return v;
}

/** The addon, after `--threads` has set the engine's pool size. */
function addon(threads?: number): Addon {
  if (threads !== undefined) {
    if (threads < 1) throw new Error('--threads must be at least 1');
    // hearth-core's rayon pool reads this when it starts (on the first model work).
    process.env.RAYON_NUM_THREADS = String(threads);
  }
  try {
    return createRequire(import.meta.url)(process.env.HEARTH_NODE_ADDON || '@hearth/node');
  } catch (e) {
    const reason = (e as Error).message.split('\n')[0];
    throw new Error(
      `the native addon @hearth/node cannot be loaded on this platform (${reason}); use the Rust CLI instead`,
    );
  }
}

/** hearth-core's `GenerateOptions` from the flags, with the Rust CLI's defaults. */
function generateOptions(v: GenValues, renderSpecial: boolean): object {
  return {
    maxTokens: num(v, 'max-tokens', 256, true),
    stop: v.stop ?? [],
    ignoreEos: v['ignore-eos'] ?? false,
    renderSpecial,
    sampling: {
      temperature: num(v, 'temperature', 0.8),
      topK: num(v, 'top-k', 40, true),
      topP: num(v, 'top-p', 0.95),
      minP: num(v, 'min-p', 0.05),
      repeatPenalty: num(v, 'repeat-penalty', 1),
      // As the Rust CLI: a new seed each run unless one is given.
      seed: num(v, 'seed', Math.floor(Math.random() * 2 ** 31), true),
    },
  };
}

/** Loads the model and a session for `run`/`chat`. */
async function openSession(
  v: GenValues & { model?: string },
): Promise<[NativeModel, NativeSession]> {
  const { loadModel } = addon(v.threads === undefined ? undefined : num(v, 'threads', 0, true));
  const backend = v.backend ?? 'auto';
  if (!['auto', 'cpu', 'gpu', 'hearth', 'llama.cpp'].includes(backend)) {
    throw new UsageError(
      `invalid value '${backend}' for '--backend' (auto, cpu, gpu; or llama.cpp, hearth)`,
    );
  }
  const llama = backend === 'llama.cpp';
  const device = llama || backend === 'hearth' ? 'auto' : backend;
  const gpuMemory = v['gpu-memory'] === undefined ? undefined : num(v, 'gpu-memory', 0, true);
  const gpuLayers = v['gpu-layers'] === undefined ? undefined : num(v, 'gpu-layers', 0, true);
  const model = await loadModel(required(v, 'model'), {
    backend: llama ? 'llama.cpp' : 'hearth',
    // llama.cpp runs on the CPU in the addon.
    device: llama ? 'cpu' : device,
    allowSoftwareGpu: v['allow-software-gpu'] ?? false,
    ...(gpuMemory !== undefined ? { gpuMaxMemoryBytes: gpuMemory * 2 ** 20 } : {}),
    ...(gpuLayers !== undefined ? { gpuLayers } : {}),
  });
  return [model, model.createSession(num(v, 'ctx-size', 4096, true))];
}

/** Objects with their keys sorted, recursively: serde_json's key order. */
function sortKeys(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(sortKeys);
  if (v && typeof v === 'object') {
    return Object.fromEntries(
      Object.keys(v)
        .sort()
        .map((k) => [k, sortKeys((v as Record<string, unknown>)[k])]),
    );
  }
  return v;
}

const snake = (key: string) => key.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);

/** Peak resident memory of this process in bytes. */
const peakRss = () => process.resourceUsage().maxRSS * 1024;
/** The engine pool's size, as the Rust CLI reports it. */
const addonThreads = () => addon().threadCount();

/**
 * The Rust CLI's `--json` object for a result of a model with `modelLayers` blocks, run
 * where `session.device` says.
 */
function resultJson(r: NativeResult, modelLayers: number, session: NativeSession): string {
  const timings = Object.fromEntries(Object.entries(r.timings).map(([k, x]) => [snake(k), x]));
  const d = session.device;
  return JSON.stringify(
    sortKeys({
      adapter: d.adapter && {
        name: d.adapter.name,
        backend: d.adapter.backend,
        device_type: d.adapter.deviceType,
        software: d.adapter.software,
        features: d.adapter.features,
      },
      backend: d.device,
      backend_reason: d.reason,
      finish_reason: r.finishReason,
      gpu_layers: d.gpuLayers,
      model_layers: modelLayers,
      prompt_tokens: r.promptTokens,
      text: r.text,
      timings: { ...timings, peak_rss_bytes: peakRss(), threads: addonThreads() },
      tokens: r.tokens,
      top_logits: r.topLogits,
    }),
  );
}

/** The Rust CLI's timings line on stderr. */
function printTimings(t: Record<string, number>): void {
  const f = (x: number | undefined) => (x ?? 0).toFixed(1);
  process.stderr.write(
    `\n[hearth] prompt ${t.promptTokens} tok (${t.reusedTokens} reused) ${f(t.promptMs)} ms (${f(t.prefillTokS)} tok/s) · ttft ${f(t.ttftMs)} ms · ${t.generatedTokens} tok at ${f(t.decodeTokS)} tok/s · load ${f(t.loadMs)} ms · peak rss ${f(peakRss() / 2 ** 20)} MiB\n`,
  );
}

/** Reads `[{role, content}, …]` or `{"messages": [...]}` from a file. */
function readMessages(path: string): Message[] {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new Error(`cannot read ${path}: ${(e as Error).message}`);
  }
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch (e) {
    throw new Error(`${path}: invalid JSON: ${(e as Error).message}`);
  }
  const list = v && typeof v === 'object' && 'messages' in v ? v.messages : v;
  const valid =
    Array.isArray(list) &&
    list.every(
      (m) =>
        m && typeof m === 'object' && typeof m.role === 'string' && typeof m.content === 'string',
    );
  if (!valid) throw new Error(`${path}: expected an array of {"role", "content"} messages`);
  return list as Message[];
}

const write = (text: string) => process.stdout.write(text);
/** A newline after the text only for a person's terminal (stdout carries the text alone). */
const endLine = () => process.stdout.isTTY && write('\n');

async function info(args: string[]): Promise<void> {
  const { values } = parse(args, { model: { type: 'string' }, json: { type: 'boolean' } });
  const path = required(values, 'model');
  const model = await addon().loadModel(path);
  const s = model.info().summary;
  model.dispose();
  if (values.json) {
    write(`${JSON.stringify(sortKeys({ ...s, path }))}\n`);
    return;
  }
  const opt = (x: unknown) => (x === null || x === undefined ? '-' : String(x));
  const mib = (bytes: number) => (bytes / 2 ** 20).toFixed(1);
  const lines = [
    `model          ${path}`,
    `architecture   ${opt(s.architecture)}`,
    `name           ${opt(s.name)}`,
    `parameters     ${s.parameter_count} (${(s.parameter_count / 1e6).toFixed(1)} M)`,
    `file type      ${opt(s.file_type)}`,
    `context length ${opt(s.context_length)}`,
    `embedding      ${opt(s.embedding_length)}`,
    `layers         ${opt(s.block_count)}`,
    `heads          ${opt(s.head_count)} (kv ${opt(s.head_count_kv)})`,
    `tokenizer      ${opt(s.tokenizer.model)} (pre ${opt(s.tokenizer.pre)}), vocab ${s.vocab_size}`,
    `chat template  ${s.chat_template ? 'yes' : 'no'}`,
    `license        ${opt(s.license)}`,
    ...Object.entries(s.source as Record<string, string>).map(([k, x]) => `${k.padEnd(14)} ${x}`),
    `tensors        ${s.tensor_count} (${mib(s.tensor_bytes)} MiB)`,
    ...Object.entries(s.tensor_types as Record<string, { count: number; bytes: number }>).map(
      ([ty, st]) =>
        `  ${ty.padEnd(8)} ${String(st.count).padStart(5)} tensors ${mib(st.bytes).padStart(10)} MiB`,
    ),
  ];
  write(`${lines.join('\n')}\n`);
}

async function tokenize(args: string[]): Promise<void> {
  const { values, positionals } = parse(
    args,
    { model: { type: 'string' }, special: { type: 'boolean' }, 'no-bos': { type: 'boolean' } },
    true,
  );
  if (positionals.length !== 1) throw new UsageError('expected exactly one TEXT to tokenize');
  const model = await addon().loadModel(required(values, 'model'));
  const ids = model.tokenize(positionals[0] as string, !values['no-bos'], values.special ?? false);
  model.dispose();
  write(`${JSON.stringify(ids)}\n`);
}

async function run(args: string[]): Promise<void> {
  const { values } = parse(args, {
    model: { type: 'string' },
    prompt: { type: 'string' },
    special: { type: 'boolean' },
    json: { type: 'boolean' },
    ...GEN_OPTIONS,
  });
  const prompt = required(values, 'prompt');
  const special = values.special ?? false;
  const options = generateOptions(values, special);
  const [model, session] = await openSession(values);
  try {
    const result = (await session.generate(model.tokenize(prompt, true, special), options, (ev) => {
      if (ev && !values.json) write(ev.text);
    })) as NativeResult;
    if (values.json) write(`${resultJson(result, model.info().config.nLayer, session)}\n`);
    else endLine();
    printTimings(result.timings);
  } finally {
    session.dispose();
    model.dispose();
  }
}

async function chat(args: string[]): Promise<void> {
  const { values } = parse(args, {
    model: { type: 'string' },
    messages: { type: 'string' },
    system: { type: 'string' },
    json: { type: 'boolean' },
    ...GEN_OPTIONS,
  });
  const options = generateOptions(values, false);
  const once = values.messages === undefined ? undefined : readMessages(values.messages);
  const [model, session] = await openSession(values);
  try {
    if (once) {
      const result = (await session.chat(once, options, (ev) => {
        if (ev && !values.json) write(ev.text);
      })) as NativeResult;
      if (values.json) write(`${resultJson(result, model.info().config.nLayer, session)}\n`);
      else endLine();
      printTimings(result.timings);
      return;
    }
    const messages: Message[] = values.system ? [{ role: 'system', content: values.system }] : [];
    process.stderr.write(`Chatting with ${values.model} — empty line or Ctrl-D to quit.\n`);
    const lines = createInterface({ input: process.stdin, terminal: false })[
      Symbol.asyncIterator
    ]();
    for (;;) {
      process.stderr.write('\n> ');
      const line = await lines.next();
      if (line.done || line.value.trim() === '') break;
      messages.push({ role: 'user', content: line.value.trimEnd() });
      // The session keeps the KV cache: only the new turn is evaluated.
      const result = (await session.chat(messages, options, (ev) => {
        if (ev) write(ev.text);
      })) as NativeResult;
      write('\n');
      printTimings(result.timings);
      messages.push({ role: 'assistant', content: result.text.trim() });
    }
    process.stdin.pause();
  } finally {
    session.dispose();
    model.dispose();
  }
}

async function template(args: string[]): Promise<void> {
  const { values } = parse(args, {
    model: { type: 'string' },
    messages: { type: 'string' },
    'add-generation-prompt': { type: 'boolean' },
  });
  const messages = readMessages(required(values, 'messages'));
  const model = await addon().loadModel(required(values, 'model'));
  try {
    write(model.applyChatTemplate(messages, values['add-generation-prompt'] ?? false));
  } finally {
    model.dispose();
  }
}

const COMMANDS: Record<string, (args: string[]) => Promise<void>> = {
  info,
  tokenize,
  run,
  chat,
  template,
  async embed() {
    throw new Error(
      'embed is not available in the Node CLI: the @hearth/node addon has no embedding models yet; use the Rust CLI (cargo install --path apps/cli)',
    );
  },
};

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  if (command === undefined || command === '-h' || command === '--help' || command === 'help') {
    (command === undefined ? process.stderr : process.stdout).write(`${USAGE}\n`);
    return command === undefined ? 2 : 0;
  }
  if (command === '-V' || command === '--version') {
    write(`hearth ${addon().version()}\n`);
    return 0;
  }
  const handler = COMMANDS[command];
  try {
    if (!handler) throw new UsageError(`unrecognized subcommand '${command}'`);
    if (rest.includes('--help') || rest.includes('-h')) {
      write(`${USAGE}\n`);
      return 0;
    }
    await handler(rest);
    return 0;
  } catch (e) {
    const code = (e as { code?: unknown }).code;
    const detail = typeof code === 'string' && !code.startsWith('ERR_') ? ` [${code}]` : '';
    process.stderr.write(`error: ${(e as Error).message}${detail}\n`);
    if (e instanceof UsageError) {
      process.stderr.write("\nFor more information, try '--help'.\n");
      return 2;
    }
    return 1;
  }
}

/** Runs the CLI on `argv` (without `node` and the script) and returns the exit status. */
export { main };
