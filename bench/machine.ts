/** The machine a benchmark ran on, for its report: it is shared and noisy, so numbers are only comparable within one run. */
import { readFileSync } from 'node:fs';
import { availableParallelism, cpus, freemem, release, totalmem } from 'node:os';

function cpuModel(): string {
  try {
    const line = readFileSync('/proc/cpuinfo', 'utf8')
      .split('\n')
      .find((l) => l.startsWith('model name'));
    if (line) return line.slice(line.indexOf(':') + 1).trim();
  } catch {
    // not Linux: os.cpus() below
  }
  return cpus()[0]?.model ?? 'unknown CPU';
}

export function machine(): string {
  const gib = (n: number) => Math.round(n / 2 ** 30);
  return `nproc ${availableParallelism()} × ${cpuModel()}, ${gib(totalmem())} GiB RAM (${gib(freemem())} GiB free), Node ${process.version}, ${process.platform} ${release()}`;
}
