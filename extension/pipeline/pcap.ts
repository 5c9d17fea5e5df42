import { closeSync, createWriteStream, openSync } from 'node:fs';
import type { Writable } from 'node:stream';
import { compileFilter, type CompiledFilter } from './filter';
import { PcapngWriter } from './pcapng';
import type { ProbeHit, ProbeHub } from './probe';
import { STAGES, type EngineKind, type StageName } from './stages';

/**
 * Captures: classic libpcap files here, pcapng in pcapng.ts, chosen by the file name.
 *
 * Classic libpcap files (what tcpdump -w writes): a 24-byte header, then per
 * frame a 16-byte record header and the captured bytes. Written little-endian
 * with magic 0xa1b2c3d4, so readers see microsecond timestamps.
 */
export const PCAP_MAGIC = 0xa1b2c3d4;
export const LINKTYPE_ETHERNET = 1;
export const DEFAULT_SNAPLEN = 262144;
/** Beyond this many bytes waiting for the disk, frames are dropped rather than buffered. */
export const DEFAULT_MAX_BUFFERED = 4 * 1024 * 1024;

export interface CaptureStats {
  /** Frames written (possibly truncated). */
  captured: number;
  /** Frames the capture filter rejected. */
  filtered: number;
  /** Frames cut to the snap length. */
  truncated: number;
  /** Frames lost because the file could not keep up (bounded buffer full) or failed. */
  dropped: number;
  /** Bytes written to the file, headers included. */
  bytes: number;
  /** Why writing failed, if it did. */
  error?: string;
}

export function pcapFileHeader(snaplen: number): Buffer {
  const h = Buffer.alloc(24);
  h.writeUInt32LE(PCAP_MAGIC, 0);
  h.writeUInt16LE(2, 4);
  h.writeUInt16LE(4, 6);
  h.writeInt32LE(0, 8); // thiszone: timestamps are UTC
  h.writeUInt32LE(0, 12); // sigfigs
  h.writeUInt32LE(snaplen, 16);
  h.writeUInt32LE(LINKTYPE_ETHERNET, 20);
  return h;
}

/** Microseconds since the Unix epoch, from the monotonic high-resolution clock. */
export function wallClockMicros(): number {
  return Math.round((performance.timeOrigin + performance.now()) * 1000);
}

export class PcapWriter {
  readonly stats: CaptureStats = { captured: 0, filtered: 0, truncated: 0, dropped: 0, bytes: 0 };
  private failed = false;

  constructor(
    private readonly stream: Writable,
    readonly snaplen = DEFAULT_SNAPLEN,
    private readonly maxBuffered = DEFAULT_MAX_BUFFERED,
  ) {
    stream.on('error', (err: Error) => {
      this.failed = true;
      this.stats.error ??= err.message;
    });
    this.push(pcapFileHeader(snaplen));
  }

  /** Appends one frame (copied: the caller's buffer is live). */
  write(frame: Uint8Array, timestampMicros = wallClockMicros()): boolean {
    const caplen = Math.min(frame.length, this.snaplen);
    if (this.failed || this.stream.writableLength + 16 + caplen > this.maxBuffered) {
      this.stats.dropped++;
      return false;
    }
    const t = Math.max(0, Math.floor(timestampMicros));
    const rec = Buffer.allocUnsafe(16 + caplen);
    rec.writeUInt32LE(Math.floor(t / 1e6) >>> 0, 0);
    rec.writeUInt32LE(t % 1e6, 4);
    rec.writeUInt32LE(caplen, 8);
    rec.writeUInt32LE(frame.length, 12);
    rec.set(frame.subarray(0, caplen), 16);
    this.push(rec);
    this.stats.captured++;
    if (caplen < frame.length) this.stats.truncated++;
    return true;
  }

  /** Flushes and closes the stream. */
  close(): Promise<CaptureStats> {
    return new Promise((resolve) => {
      if (this.stream.writableFinished || this.stream.destroyed) return resolve(this.stats);
      this.stream.once('error', () => resolve(this.stats));
      this.stream.end(() => resolve(this.stats));
    });
  }

  private push(chunk: Buffer): void {
    this.stream.write(chunk);
    this.stats.bytes += chunk.length;
  }
}

export interface CaptureOptions {
  /** Path of the .pcap file (created or truncated). */
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
 * Captures the frames crossing `stages` into a pcap file. A bad filter throws
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
  const ng = format === 'pcapng' ? new PcapngWriter(stream, snaplen, options.maxBuffered) : undefined;
  const writer = ng ?? new PcapWriter(stream, snaplen, options.maxBuffered);
  const now = options.now ?? wallClockMicros;
  const annotate = options.annotate;
  const onFrame = (hit: ProbeHit) => {
    if (hit.frame.length === 0) return;
    if (filter && !filter.matches(hit)) {
      writer.stats.filtered++;
      return;
    }
    if (ng) ng.write(hit.frame, hit.stage, now(), annotate?.(hit));
    else (writer as PcapWriter).write(hit.frame, now());
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
