/** Runs the Rust `hearth` CLI, the reference the JS runtimes are compared with. */

import { execFile } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';

const repoRoot = resolve(import.meta.dirname, '../../..');
const targetDir = process.env.CARGO_TARGET_DIR ?? join(repoRoot, 'target');

/**
 * The `hearth` binary: `$HEARTH_CLI`, else the newest of the release and debug
 * builds in `$CARGO_TARGET_DIR` (CI builds it in its Rust test step).
 */
export function rustCli(): string {
  if (process.env.HEARTH_CLI) return process.env.HEARTH_CLI;
  const built = ['release', 'debug']
    .map((profile) => join(targetDir, profile, 'hearth'))
    .filter((path) => existsSync(path))
    .sort((a, b) => statSync(b).mtimeMs - statSync(a).mtimeMs);
  if (!built[0]) {
    throw new Error(
      `the Rust hearth CLI is not built in ${targetDir}: run \`cargo build -p hearth-cli\` (or set HEARTH_CLI)`,
    );
  }
  return built[0];
}

/** Runs `hearth ARGS…` and returns its stdout (rejects on a non-zero exit). */
export async function runRustCli(args: string[]): Promise<string> {
  const { stdout } = await promisify(execFile)(rustCli(), args, { maxBuffer: 64 << 20 });
  return stdout;
}
