/**
 * Generation options: validated in JS (so a bad value is reported before any
 * work starts, with code `INVALID_OPTION`) and mapped onto the engine's
 * `GenerateOptions` shape.
 */

import { HearthError, RunnerErrorCode } from './errors.js';

/** Sampling and stopping options of `generateText` and `chat`. */
export interface GenerateOptions {
  /** Stop after this many generated tokens (default 256). */
  maxTokens?: number;
  /** 0 is greedy (always the most likely token); default 0.8. */
  temperature?: number;
  /** Keep the `topK` most likely tokens; 0 disables (default 40). */
  topK?: number;
  /** Nucleus sampling, in (0, 1]; 1 disables (default 0.95). */
  topP?: number;
  /** Drop tokens less likely than `minP` × the best one, in [0, 1]; 0 disables (default 0.05). */
  minP?: number;
  /** > 0; 1 disables (default 1). */
  repeatPenalty?: number;
  /** Subtracted once from every recent token's logit (default 0). */
  presencePenalty?: number;
  /** Subtracted per occurrence of a recent token (default 0). */
  frequencyPenalty?: number;
  /** How many recent tokens the penalties look at (default 64). */
  penaltyLastN?: number;
  /** Random seed: one seed gives one output, in Node and in every browser. */
  seed?: number;
  /** Stop when the text contains one of these; the stop string is not returned. */
  stop?: string | string[];
  /** Keep going past end-of-generation tokens. */
  ignoreEos?: boolean;
  /** Render special tokens such as `<|im_end|>` in the text. */
  renderSpecial?: boolean;
  /** Added to the logits of the given token ids (`-Infinity` bans a token). */
  logitBias?: Record<number, number> | [number, number][];
  /** Stops the generation between two tokens; the result then has `finishReason: 'cancelled'`. */
  signal?: AbortSignal;
}

/** The engine's option object (the serde shape of hearth-core's `GenerateOptions`). */
export interface EngineOptions {
  maxTokens?: number;
  stop?: string[];
  ignoreEos?: boolean;
  renderSpecial?: boolean;
  sampling: Record<string, unknown>;
}

function invalid(option: string, value: unknown, expected: string): HearthError {
  let shown: string;
  try {
    shown = typeof value === 'string' ? JSON.stringify(value) : String(value);
  } catch {
    shown = typeof value;
  }
  return new HearthError(
    RunnerErrorCode.InvalidOption,
    `invalid option ${option}: ${shown} (expected ${expected})`,
  );
}

type Check = (v: unknown) => boolean;
const isNum: Check = (v) => typeof v === 'number' && Number.isFinite(v);
const isInt: Check = (v) => Number.isSafeInteger(v);

/** Each sampling option: its range check and what the error says. */
const SAMPLING: Record<string, [Check, string]> = {
  temperature: [(v) => isNum(v) && (v as number) >= 0, 'a finite number >= 0'],
  topK: [(v) => isInt(v) && (v as number) >= 0, 'an integer >= 0'],
  topP: [(v) => isNum(v) && (v as number) > 0 && (v as number) <= 1, 'a number in (0, 1]'],
  minP: [(v) => isNum(v) && (v as number) >= 0 && (v as number) <= 1, 'a number in [0, 1]'],
  repeatPenalty: [(v) => isNum(v) && (v as number) > 0, 'a finite number > 0'],
  presencePenalty: [isNum, 'a finite number'],
  frequencyPenalty: [isNum, 'a finite number'],
  penaltyLastN: [(v) => isInt(v) && (v as number) >= 0, 'an integer >= 0'],
  seed: [(v) => isInt(v) && (v as number) >= 0, 'an integer in [0, 2^53)'],
};

const OTHER = new Set(['maxTokens', 'stop', 'ignoreEos', 'renderSpecial', 'logitBias', 'signal']);

/**
 * Checks `options` and converts them to the engine's shape.
 *
 * @throws {HearthError} `INVALID_OPTION` for an unknown key or a value out of range.
 */
export function toEngineOptions(options: GenerateOptions | undefined): EngineOptions {
  const out: EngineOptions = { sampling: {} };
  if (options === undefined) return out;
  if (typeof options !== 'object' || options === null) {
    throw invalid('options', options, 'an object');
  }
  for (const [key, value] of Object.entries(options)) {
    if (value === undefined) continue;
    const sampling = SAMPLING[key];
    if (sampling) {
      if (!sampling[0](value)) throw invalid(key, value, sampling[1]);
      out.sampling[key] = value;
    } else if (!OTHER.has(key)) {
      throw invalid(key, value, `one of ${[...Object.keys(SAMPLING), ...OTHER].join(', ')}`);
    }
  }
  const o = options;
  if (o.maxTokens !== undefined) {
    if (!isInt(o.maxTokens) || o.maxTokens < 1) {
      throw invalid('maxTokens', o.maxTokens, 'an integer >= 1');
    }
    out.maxTokens = o.maxTokens;
  }
  if (o.stop !== undefined) {
    const stop = typeof o.stop === 'string' ? [o.stop] : o.stop;
    if (!Array.isArray(stop) || !stop.every((s) => typeof s === 'string' && s.length > 0)) {
      throw invalid('stop', o.stop, 'a non-empty string or an array of them');
    }
    out.stop = [...stop];
  }
  for (const key of ['ignoreEos', 'renderSpecial'] as const) {
    const v = o[key];
    if (v === undefined) continue;
    if (typeof v !== 'boolean') throw invalid(key, v, 'a boolean');
    out[key] = v;
  }
  if (o.logitBias !== undefined) out.sampling.logitBias = logitBias(o.logitBias);
  if (o.signal !== undefined && !(o.signal instanceof AbortSignal)) {
    throw invalid('signal', o.signal, 'an AbortSignal');
  }
  return out;
}

function logitBias(bias: unknown): [number, number][] {
  const pairs: [unknown, unknown][] = Array.isArray(bias)
    ? (bias as [unknown, unknown][])
    : typeof bias === 'object' && bias !== null
      ? Object.entries(bias).map(([k, v]) => [Number(k), v])
      : [];
  if (typeof bias !== 'object' || bias === null) {
    throw invalid('logitBias', bias, 'an object or an array of [tokenId, bias] pairs');
  }
  return pairs.map((pair) => {
    const [id, b] = Array.isArray(pair) ? pair : [];
    if (!isInt(id) || (id as number) < 0 || (id as number) > 0xffffffff) {
      throw invalid('logitBias', id, 'token ids as integers >= 0');
    }
    if (typeof b !== 'number' || Number.isNaN(b) || b === Number.POSITIVE_INFINITY) {
      throw invalid('logitBias', b, 'finite biases or -Infinity');
    }
    return [id as number, b];
  });
}
