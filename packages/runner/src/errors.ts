/**
 * Error codes raised by `@hearth/runner` itself. Engine errors use the stable
 * codes of `hearth-core`, e.g. `GGUF_BAD_MAGIC`, `GGUF_TRUNCATED`,
 * `GGUF_TENSOR_OUT_OF_BOUNDS` (see `GgufError::code` in the Rust sources).
 */
export const RunnerErrorCode = {
  /** The hearth-wasm module could not be fetched, compiled or instantiated. */
  WasmLoad: 'HEARTH_WASM_LOAD',
  /** The engine trapped (a bug in Hearth: please report it). */
  WasmTrap: 'HEARTH_WASM_TRAP',
  /** An argument has the wrong type. */
  InvalidArgument: 'HEARTH_INVALID_ARGUMENT',
  /** A generation or tokenizer option is unknown or out of range. */
  InvalidOption: 'INVALID_OPTION',
  /** Loading was aborted through its `signal`. */
  Aborted: 'ABORTED',
  /** The downloaded model's SHA-256 is not the one given. */
  Sha256Mismatch: 'SHA256_MISMATCH',
  /** The model could not be downloaded (network error; HTTP errors are `HTTP_<status>`). */
  Network: 'NETWORK_ERROR',
  /** The server answered with something that is not a model (an HTML page). */
  NotAModel: 'NOT_A_MODEL',
  /** The model cache has no room for the model (the message names the sizes). */
  QuotaExceeded: 'QUOTA_EXCEEDED',
  /** The model cache's storage failed (IndexedDB, OPFS or file system). */
  Cache: 'CACHE_ERROR',
  /** The engine worker could not start or died. */
  Worker: 'HEARTH_WORKER',
  /** `backend: 'hearth' | 'llama.cpp'` was asked for but the native addon cannot be loaded. */
  NativeUnavailable: 'NATIVE_UNAVAILABLE',
  /** `backend: 'webgpu'` was asked for but no adapter (or no GPU engine) is there; the message says why. */
  WebGpuUnavailable: 'WEBGPU_UNAVAILABLE',
  /**
   * The GPU device was lost (driver reset, GPU process crash, `device.destroy()`) while the
   * model ran on it. With `onDeviceLost: 'cpu'` the runner continues on the CPU instead.
   */
  GpuDeviceLost: 'GPU_DEVICE_LOST',
  /** The runner was disposed. */
  Disposed: 'HEARTH_DISPOSED',
  /** Anything else that should not happen. */
  Internal: 'HEARTH_INTERNAL',
} as const;

/** Every error thrown or rejected by `@hearth/runner`. */
export class HearthError extends Error {
  override name = 'HearthError';
  /** Stable machine-readable code, e.g. `GGUF_BAD_MAGIC`; safe to switch on. */
  readonly code: string;

  /** Creates an error with a stable `code` and a human-readable `message`. */
  constructor(code: string, message: string, options?: ErrorOptions) {
    super(message, options);
    this.code = code;
  }
}

/** Converts anything thrown by the wasm bindings into a {@link HearthError}. */
export function toHearthError(
  e: unknown,
  fallbackCode: string = RunnerErrorCode.Internal,
): HearthError {
  if (e instanceof HearthError) return e;
  if (e instanceof Error) {
    const code: unknown = (e as { code?: unknown }).code;
    if (typeof code === 'string') return new HearthError(code, e.message, { cause: e });
    if (e instanceof WebAssembly.RuntimeError) {
      return new HearthError(RunnerErrorCode.WasmTrap, `hearth-wasm trapped: ${e.message}`, {
        cause: e,
      });
    }
    return new HearthError(fallbackCode, e.message, { cause: e });
  }
  return new HearthError(fallbackCode, String(e), { cause: e });
}
