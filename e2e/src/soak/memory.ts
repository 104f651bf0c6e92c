// Memory of a service process as the soak samples it: the kernel's resident set (VmRSS of
// /proc/<pid>/status) and V8's used heap as the service itself reports it on its ops port
// (prom-client's default nodejs_heap_size_used_bytes, libs/observability).
import { readFile } from 'node:fs/promises';
import type { MemorySample } from './verdict';

const MIB = 2 ** 20;

/** VmRSS of a live process in MiB (Linux only: the soak runs on the CI's and developers' Linux). */
export async function residentSetMiB(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  const kib = /^VmRSS:\s+(\d+)\s+kB$/m.exec(status)?.[1];
  if (!kib) throw new Error(`no VmRSS in /proc/${pid}/status`);
  return Number(kib) / 1024;
}

/**
 * nodejs_heap_size_used_bytes from a Prometheus text exposition, in MiB.
 *
 * @example
 * heapUsedMiBOf('nodejs_heap_size_used_bytes{service="dcr-service"} 52428800\n'); // 50
 */
export function heapUsedMiBOf(exposition: string): number {
  const value = /^nodejs_heap_size_used_bytes(?:\{[^}]*\})?\s+([0-9.e+]+)/m.exec(exposition)?.[1];
  if (!value) throw new Error('no nodejs_heap_size_used_bytes in the metrics');
  return Number(value) / MIB;
}

/** One sample of a service: its RSS and, from `GET <opsUrl>/metrics`, its heap used. */
export async function sampleMemory(pid: number, opsUrl: string): Promise<MemorySample> {
  const response = await fetch(`${opsUrl}/metrics`, { signal: AbortSignal.timeout(5_000) });
  if (response.status !== 200) throw new Error(`${opsUrl}/metrics answered ${response.status}`);
  const [rssMiB, heapUsedMiB] = await Promise.all([residentSetMiB(pid), response.text().then(heapUsedMiBOf)]);
  return { rssMiB, heapUsedMiB };
}
