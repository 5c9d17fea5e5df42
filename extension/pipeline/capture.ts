import { closeSync, createWriteStream, openSync } from 'node:fs';
import type { Writable } from 'node:stream';
import { DEFAULT_SNAPLEN, wallClockMicros, type CaptureStats, type CaptureWriter } from './capture-writer';
import { compileFilter, type CompiledFilter } from './filter';
import { PcapWriter } from './pcap';
import { PcapngWriter } from './pcapng';
import type { ProbeHit, ProbeHub } from './probe';
import { STAGES, type EngineKind, type StageName } from './stages';

/**
 * Captures: the frames crossing some stages, filtered, into a classic pcap
 * (pcap.ts) or a pcapng file (pcapng.ts), chosen by the file name.
 */
export interface CaptureOptions {
  /** Path of the capture file (created or truncated). */
  readonly file?: string;
  /** Or a stream to write to (a pipe to Wireshark, say). */
  readonly stream?: Writable;
  /** Capture filter in the display-filter language. */
  readonly filter?: string;
  readonly snaplen?: number;
  /** The stages to capture at; by default those captureStages(engine) names. */
  readonly stages?: readonly StageName[];
  /** Which engine fires the probes: under QEMU the net queue is not ours. Embedded by default. */
  readonly engine?: EngineKind;
  readonly maxBuffered?: number;
  /** Timestamp source in microseconds since the epoch. */
  readonly now?: () => number;
  /**
   * pcapng (an interface per stage, a comment per frame) or classic pcap. By
   * default pcapng when the file name ends in .pcapng, else pcap: QEMU's
   * filter-dump and most tools that take `-w x.pcap` write classic pcap.
   */
  readonly format?: CaptureFormat;
  /** pcapng only: the comment of a frame (its journey, stage and NAT mapping). */
  readonly annotate?: (hit: ProbeHit) => string | undefined;
}

export type CaptureFormat = 'pcap' | 'pcapng';

export function captureFormatOf(file: string | undefined): CaptureFormat {
  return file?.toLowerCase().endsWith('.pcapng') ? 'pcapng' : 'pcap';
}


/**
 * Where a capture listens by default: the net queue between NIC and backend,
 * as QEMU's -object filter-dump does. Under the QEMU engine the NIC and the
 * queue are QEMU's and their probes never fire, so the capture moves to the
 * edge of our slirp on the same path (net_slirp_receive, net_slirp_send_packet):
 * the same frames, one step further in.
 */
export function captureStages(engine: EngineKind = 'embedded'): readonly StageName[] {
  const owner = engine === 'qemu' ? 'slirp' : 'netqueue';
  return STAGES.filter((s) => s.layer === 'queue' && s.owner === owner).map((s) => s.name);
}

export interface Capture {
  readonly stats: CaptureStats;
  stop(): Promise<CaptureStats>;
}

/**
 * Captures the frames crossing `stages` into a capture file. A bad filter throws
 * FilterSyntaxError and a file that cannot be created throws, before anything
 * is armed.
 */
export function attachCapture(hub: ProbeHub, options: CaptureOptions): Capture {
  const filter: CompiledFilter | undefined = options.filter?.trim() ? compileFilter(options.filter) : undefined;
  const snaplen = options.snaplen ?? DEFAULT_SNAPLEN;
  if (!Number.isInteger(snaplen) || snaplen < 1) throw new Error(`snap length must be a positive integer, got ${snaplen}`);
  let stream = options.stream;
  if (!stream) {
    if (!options.file) throw new Error('a capture needs a file or a stream');
    let fd: number;
    try {
      fd = openSync(options.file, 'w');
    } catch (err) {
      throw new Error(`cannot create capture file ${options.file}: ${(err as Error).message}`);
    }
    try {
      stream = createWriteStream('', { fd });
    } catch (err) {
      closeSync(fd);
      throw err;
    }
  }
  const format = options.format ?? captureFormatOf(options.file);
  const writer: CaptureWriter = format === 'pcapng'
    ? new PcapngWriter(stream, snaplen, options.maxBuffered)
    : new PcapWriter(stream, snaplen, options.maxBuffered);
  const now = options.now ?? wallClockMicros;
  const annotate = format === 'pcapng' ? options.annotate : undefined; // classic pcap has no comments
  const onFrame = (hit: ProbeHit) => {
    if (hit.frame.length === 0) return;
    if (filter && !filter.matches(hit)) {
      writer.stats.filtered++;
      return;
    }
    writer.write(hit.frame, { stage: hit.stage, micros: now(), comment: annotate?.(hit) });
  };
  const stages = options.stages ?? captureStages(options.engine);
  const unlisten = stages.map((s) => hub.probes[s].listen(onFrame));
  let stopped: Promise<CaptureStats> | undefined;
  return {
    get stats() { return writer.stats; },
    stop() {
      if (!stopped) {
        for (const off of unlisten) off();
        stopped = writer.close();
      }
      return stopped;
    },
  };
}
