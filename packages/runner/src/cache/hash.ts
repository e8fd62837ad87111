/**
 * Incremental SHA-256 for the model cache (WebCrypto has no incremental
 * digest): `@noble/hashes` everywhere, `node:crypto` where the Node entry
 * registers it (several times faster).
 */

import { sha256 } from '@noble/hashes/sha2.js';
import { bytesToHex } from '@noble/hashes/utils.js';

/** A running SHA-256. */
export interface Sha256 {
  update(bytes: Uint8Array): void;
  /** The digest as lowercase hex (once). */
  hex(): string;
}

let factory = (): Sha256 => {
  const h = sha256.create();
  return {
    update: (bytes) => {
      h.update(bytes);
    },
    hex: () => bytesToHex(h.digest()),
  };
};

/** A fresh SHA-256. */
export function createSha256(): Sha256 {
  return factory();
}

/** Replaces the SHA-256 implementation (the Node entry uses `node:crypto`). @internal */
export function setSha256(create: () => Sha256): void {
  factory = create;
}
