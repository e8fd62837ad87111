/**
 * Result types. Field names are snake_case on purpose: a {@link ModelInfo} has
 * exactly the shape that `hearth info --json` prints, so the CLI, the bindings
 * and any stored JSON agree byte for byte.
 */

/** Count and total bytes of the tensors of one ggml type. */
export interface TypeStats {
  count: number;
  bytes: number;
}

/** Tokenizer facts from the `tokenizer.ggml.*` metadata. */
export interface TokenizerInfo {
  /** `tokenizer.ggml.model`: `gpt2` (byte-level BPE), `llama` (SentencePiece), `bert` … */
  model: string | null;
  /** `tokenizer.ggml.pre`: the pre-tokenizer variant. */
  pre: string | null;
  vocab_size: number;
  bos_token_id: number | null;
  eos_token_id: number | null;
  add_bos_token: boolean | null;
}

/** What Hearth knows about a GGUF model from its header (no weights are read). */
export interface ModelInfo {
  /** GGUF format version (2 or 3). */
  gguf_version: number;
  /** Size of the whole file in bytes. */
  file_size: number;
  /** `general.architecture`, e.g. `llama`, `gemma3`. */
  architecture: string | null;
  /** `general.name`. */
  name: string | null;
  /** Total number of weights over all tensors. */
  parameter_count: number;
  context_length: number | null;
  embedding_length: number | null;
  block_count: number | null;
  head_count: number | null;
  head_count_kv: number | null;
  /** `general.file_type` as llama.cpp names it (e.g. `Q4_1`), when known. */
  file_type: string | null;
  tensor_count: number;
  tensor_bytes: number;
  /** Per ggml type name (`Q4_1`, `F32` …): tensor count and bytes. */
  tensor_types: Record<string, TypeStats>;
  tokenizer: TokenizerInfo;
  vocab_size: number;
  /** Whether the file carries a `tokenizer.chat_template`. */
  chat_template: boolean;
  license: string | null;
  /** Provenance keys without their `general.` prefix: `url`, `repo_url`, `base_model.0.name` … */
  source: Record<string, string>;
  /** Alignment of the data section in bytes. */
  alignment: number;
  /** Number of metadata key/value pairs. */
  metadata_count: number;
}

/** Model bytes as accepted by the API. */
export type ModelSource = ArrayBuffer | Uint8Array;
