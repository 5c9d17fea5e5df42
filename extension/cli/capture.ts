/** `--pcap`: the capture (pcapng when the file is named .pcapng) of `usernet run` (net queue, or slirp's edge under QEMU), and the counts it prints on exit. */
import { closeSync, openSync } from 'node:fs';
import type { Clock } from '../pipeline/clock';
import { attachJourneyCapture } from '../pipeline/journey-capture';
import type { CaptureStats } from '../pipeline/capture-writer';
import type { EngineKind } from '../pipeline/stages';
import { QemuMachine } from '../machine/qemu-machine';
import type { ProbeHub } from '../pipeline/probe';
import type { CapturePlan } from './pipeline-options';
import { UsageError } from './usage-error';

/**
 * Creates (or truncates) the file before the guest boots, as tcpdump -w does:
 * an unwritable path is reported at once, not after a boot.
 */
export function checkCaptureFile(file: string): void {
  try {
    closeSync(openSync(file, 'w'));
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'its directory does not exist' : code === 'EACCES' ? 'permission denied' : code === 'EISDIR' ? 'it is a directory' : (e as Error).message;
    throw new UsageError(`--pcap: cannot create ${file}: ${why}`);
  }
}

export interface CliCapture {
  readonly stats: CaptureStats;
  /** Flushes the file; resolves with the line to print. */
  stop(): Promise<string>;
}

/** The engine behind a machine the pipeline tools were given (run.ts hands over the engine object). */
export function captureEngineOf(machine: object): EngineKind {
  return machine instanceof QemuMachine ? 'qemu' : 'embedded';
}

/**
 * `engine` says where the frames can be seen: see captureStages. A .pcapng
 * file gets each frame's journey in its comment when `clock` is given
 * (pipeline/journey-capture.ts).
 */
export function startCliCapture(probes: ProbeHub, plan: CapturePlan, engine: EngineKind = 'embedded', clock?: Clock): CliCapture {
  const capture = attachJourneyCapture(probes, {
    file: plan.file,
    engine,
    ...(plan.filter ? { filter: plan.filter } : {}),
    ...(plan.snaplen ? { snaplen: plan.snaplen } : {}),
  }, clock);
  return {
    get stats() {
      return capture.stats;
    },
    stop: async () => formatCaptureStats(plan.file, await capture.stop()),
  };
}

/** "capture usernet.pcap: 57 frames captured, 3 filtered, 0 truncated" */
export function formatCaptureStats(file: string, s: CaptureStats): string {
  let line = `capture ${file}: ${s.captured} frame${s.captured === 1 ? '' : 's'} captured, ${s.filtered} filtered, ${s.truncated} truncated`;
  if (s.dropped) line += `, ${s.dropped} dropped (the disk did not keep up)`;
  if (s.error) line += `; writing failed: ${s.error}`;
  return line;
}
