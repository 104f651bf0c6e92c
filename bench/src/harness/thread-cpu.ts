// CPU time per request of a server process, by thread: on two shared cores throughput is CPU per
// request, and where a Node server spends it (its JavaScript thread, V8's garbage-collector
// workers, libuv's pool where WebCrypto verifies signatures) says what a gap to a baseline is
// made of. Read from /proc (Linux), as the RSS is.
import { readFileSync, readdirSync } from 'node:fs';

/** CPU µs per request, by where the process spent it. */
export interface ThreadCpuPerRequest {
  /** The main thread: all JavaScript, and the GC work V8 does there. */
  main: number;
  /** V8's platform workers: concurrent and parallel garbage collection, background compilation. */
  v8Workers: number;
  /** libuv's thread pool: crypto jobs (WebCrypto signatures, scrypt), file system, DNS. */
  libuvPool: number;
  /** Every other thread (inspector, signal watchdog, …). */
  other: number;
  total: number;
}

type ThreadGroup = Exclude<keyof ThreadCpuPerRequest, 'total'>;

/**
 * Which group a thread belongs to, by its name in `/proc/<pid>/task/<tid>/comm` (Node names its
 * threads `V8Worker`, `libuv-worker`; older releases `V8 DefaultWorke` and none for libuv's).
 */
export function threadGroupOf(name: string, isMainThread: boolean): ThreadGroup {
  if (isMainThread) return 'main';
  if (name.startsWith('V8Worker') || name.startsWith('V8 DefaultWorke')) return 'v8Workers';
  if (name.startsWith('libuv-worker')) return 'libuvPool';
  return 'other';
}

/**
 * utime + stime of one `/proc/<pid>/stat` or `/proc/<pid>/task/<tid>/stat` line, in clock ticks,
 * and the process's or thread's name.
 */
export function parseProcStat(line: string): { name: string; ticks: number } {
  // The name sits in parentheses and may itself contain spaces or parentheses.
  const open = line.indexOf('(');
  const close = line.lastIndexOf(')');
  if (open < 0 || close < open) throw new Error(`not a /proc stat line: ${line.slice(0, 80)}`);
  const fields = line.slice(close + 2).split(' ');
  // After the name: state is field 3 of proc(5); utime and stime are fields 14 and 15.
  const ticks = Number(fields[11]) + Number(fields[12]);
  if (!Number.isFinite(ticks)) throw new Error(`no utime/stime in: ${line.slice(0, 80)}`);
  return { name: line.slice(open + 1, close), ticks };
}

/** Linux's USER_HZ: /proc counts CPU time in 1/100 s on every architecture Node runs on. */
const TICKS_PER_SECOND = 100;

/** User + system CPU seconds a whole process has used, or undefined once it has gone. */
export function cpuSeconds(pid: number): number | undefined {
  try {
    return parseProcStat(readFileSync(`/proc/${pid}/stat`, 'utf8')).ticks / TICKS_PER_SECOND;
  } catch {
    return undefined;
  }
}

/** CPU ms used so far by each group of `pid`'s threads; undefined once the process has gone. */
export function threadCpuMs(pid: number): Record<ThreadGroup, number> | undefined {
  const used: Record<ThreadGroup, number> = { main: 0, v8Workers: 0, libuvPool: 0, other: 0 };
  let tids: string[];
  try {
    tids = readdirSync(`/proc/${pid}/task`);
  } catch {
    return undefined;
  }
  for (const tid of tids) {
    let stat: { name: string; ticks: number };
    try {
      stat = parseProcStat(readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8'));
    } catch {
      continue; // the thread ended between the listing and the read
    }
    used[threadGroupOf(stat.name, tid === String(pid))] += (stat.ticks * 1000) / TICKS_PER_SECOND;
  }
  return used;
}

/**
 * Starts counting `pid`'s CPU time; `stop(requests)` returns the µs per request of each thread
 * group since then (undefined if the process went away or no request was served). Threads that
 * ended in between are not counted, nor are their ticks before the start: Node's threads live as
 * long as the process.
 *
 * @example
 * const cpu = measureThreadCpu(server.pid);
 * const result = await runHttpLoad(...);
 * const perRequest = cpu.stop(result.requests); // { main: 412, v8Workers: 57, ... }
 */
export function measureThreadCpu(pid: number): { stop(requests: number): ThreadCpuPerRequest | undefined } {
  const before = threadCpuMs(pid);
  return {
    stop(requests) {
      const after = threadCpuMs(pid);
      if (!before || !after || requests <= 0) return undefined;
      const perRequest = (group: ThreadGroup) => ((after[group] - before[group]) * 1000) / requests;
      const result = {
        main: perRequest('main'),
        v8Workers: perRequest('v8Workers'),
        libuvPool: perRequest('libuvPool'),
        other: perRequest('other'),
      };
      return { ...result, total: result.main + result.v8Workers + result.libuvPool + result.other };
    },
  };
}
