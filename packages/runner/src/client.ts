/**
 * The main-thread end of an engine worker: numbers requests, routes the
 * worker's answers and events back to them, and fails everything pending
 * when the worker dies or is disposed.
 *
 * @internal
 */

import type { ChainLayer } from './chain.js';
import { HearthError, RunnerErrorCode } from './errors.js';
import type { NativeDeviceReport, Request, Response, WorkerPort } from './protocol.js';

/** Per-request event handlers. */
export interface Handlers {
  onToken?(token: number | null, text: string): void;
  onProgress?(stage: 'verify' | 'parse' | 'init', done: boolean): void;
  /**
   * The GPU device was lost and the model now runs on the CPU: the wasm layer `runsOn`, or
   * (native engines) where `native` says.
   */
  onDeviceLost?(to: { runsOn: ChainLayer } | { native: NativeDeviceReport }): void;
  /** Buffers of the request to transfer to the worker (not handlers: read once at send). */
  transfer?: Transferable[];
}

interface Pending extends Handlers {
  resolve(value: unknown): void;
  reject(error: HearthError): void;
}

export class WorkerClient {
  #port: WorkerPort;
  #ids = 0;
  #pending = new Map<number, Pending>();
  #failure: HearthError | undefined;

  constructor(port: WorkerPort) {
    this.#port = port;
    port.listen(
      (m) => this.#onMessage(m),
      (e) =>
        this.fail(
          new HearthError(RunnerErrorCode.Worker, `the engine worker failed: ${e.message}`, {
            cause: e,
          }),
        ),
    );
    port.setBusy?.(false);
  }

  /** A fresh request id. */
  nextId(): number {
    this.#ids += 1;
    return this.#ids;
  }

  /** Whether the worker is gone (failed or disposed). */
  get failed(): boolean {
    return this.#failure !== undefined;
  }

  /** Sends a request with `id` and resolves with the worker's answer. */
  request<T>(req: Request & { id: number }, handlers: Handlers = {}): Promise<T> {
    if (this.#failure) return Promise.reject(this.#failure);
    return new Promise<T>((resolve, reject) => {
      this.#pending.set(req.id, { ...handlers, resolve: resolve as (v: unknown) => void, reject });
      this.#port.setBusy?.(true);
      this.#port.postMessage(req, handlers.transfer);
    });
  }

  /** Sends a message that has no answer (chunks, cancel), transferring `transfer`. */
  send(req: Request, transfer: Transferable[] = []): void {
    if (this.#failure) throw this.#failure;
    this.#port.postMessage(req, transfer);
  }

  /** Terminates the worker and rejects everything pending with `error`. */
  fail(error: HearthError): void {
    if (this.#failure) return;
    this.#failure = error;
    this.#port.terminate();
    const pending = [...this.#pending.values()];
    this.#pending.clear();
    for (const p of pending) p.reject(error);
  }

  #onMessage(m: Response): void {
    const p = this.#pending.get(m.id);
    if (!p) return;
    switch (m.type) {
      case 'token':
        p.onToken?.(m.token, m.text);
        return;
      case 'progress':
        p.onProgress?.(m.stage, m.done);
        return;
      case 'deviceLost':
        p.onDeviceLost?.('native' in m ? { native: m.native } : { runsOn: m.runsOn });
        return;
      case 'done':
        this.#settle(m.id);
        p.resolve(m.value);
        return;
      case 'error':
        this.#settle(m.id);
        p.reject(new HearthError(m.error.code, m.error.message));
        return;
    }
  }

  #settle(id: number): void {
    this.#pending.delete(id);
    if (this.#pending.size === 0) this.#port.setBusy?.(false);
  }
}
