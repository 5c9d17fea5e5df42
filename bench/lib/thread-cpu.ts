/**
 * CPU time of a QEMU guest's threads and of its network backend process, read
 * from /proc/PID/task/TID/schedstat (nanoseconds on the CPU; utime/stime in
 * /proc/.../stat tick in 10 ms, too coarse for a half-second transfer).
 *
 * QEMU must run with `-name NAME,debug-threads=on`: its vCPU threads are then
 * named "CPU n/TCG" (or /KVM). Its main thread (TID = PID) is the main loop,
 * where libslirp runs and where a `-netdev stream` backend's frames are read.
 */
import { readdirSync, readFileSync } from 'node:fs';

export interface CpuSplit {
  /** QEMU's main loop thread. */
  mainLoop: number;
  /** QEMU's vCPU threads together. */
  vcpu: number;
  /** Every thread of the backend process (0 when the backend runs inside QEMU). */
  backend: number;
}

function taskCpuNs(pid: number, tid: number): number {
  try {
    return Number(readFileSync(`/proc/${pid}/task/${tid}/schedstat`, 'utf8').split(' ')[0]);
  } catch {
    return 0; // the thread has exited
  }
}

function tasks(pid: number): number[] {
  try {
    return readdirSync(`/proc/${pid}/task`).map(Number);
  } catch {
    return [];
  }
}

function taskName(pid: number, tid: number): string {
  try {
    return readFileSync(`/proc/${pid}/task/${tid}/comm`, 'utf8').trim();
  } catch {
    return '';
  }
}

/** CPU nanoseconds a whole process (every thread alive now) has run. */
export function processCpuNs(pid: number): number {
  return tasks(pid).reduce((sum, tid) => sum + taskCpuNs(pid, tid), 0);
}

/** CPU nanoseconds so far, split by role. */
export function cpuSplit(qemuPid: number, backendPid?: number): CpuSplit {
  let vcpu = 0;
  for (const tid of tasks(qemuPid)) if (/^CPU \d+\/(TCG|KVM)$/.test(taskName(qemuPid, tid))) vcpu += taskCpuNs(qemuPid, tid);
  const backend = backendPid ? processCpuNs(backendPid) : 0;
  return { mainLoop: taskCpuNs(qemuPid, qemuPid), vcpu, backend };
}

/** Milliseconds of CPU per unit (a MiB moved, a connection) between two splits. */
export function cpuPer(before: CpuSplit, after: CpuSplit, units: number): CpuSplit {
  const per = (a: number, b: number) => (b - a) / 1e6 / units;
  return { mainLoop: per(before.mainLoop, after.mainLoop), vcpu: per(before.vcpu, after.vcpu), backend: per(before.backend, after.backend) };
}
