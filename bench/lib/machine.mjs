/** What the results say about the machine: CPU, cores, memory and load. */

import { readFileSync } from 'node:fs';
import { cpus, loadavg, totalmem } from 'node:os';
import { exec } from './stats.mjs';

/** A snapshot of the 1/5/15-minute load averages. */
export function load() {
  return loadavg().map((x) => Math.round(x * 100) / 100);
}

/** CPU model, core count, memory, kernel and tool versions. */
export async function machine() {
  let flags = [];
  try {
    const line = readFileSync('/proc/cpuinfo', 'utf8').match(/^flags\s*:(.*)$/m);
    flags = (line?.[1] ?? '')
      .trim()
      .split(/\s+/)
      .filter((f) => /^(avx2|fma|avx512f|avx512_vnni|avx_vnni|f16c)$/.test(f));
  } catch {}
  const version = async (cmd, args) => {
    try {
      return (await exec(cmd, args)).trim().split('\n')[0];
    } catch {
      return null;
    }
  };
  return {
    cpu: cpus()[0]?.model ?? 'unknown',
    cpu_flags: flags,
    nproc: cpus().length,
    memory_bytes: totalmem(),
    platform: `${process.platform} ${process.arch}`,
    node: process.version,
    rustc: await version('rustc', ['--version']),
    chromium: await version(process.env.HEARTH_CHROMIUM ?? '/usr/bin/chromium', ['--version']),
  };
}
