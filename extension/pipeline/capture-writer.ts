import type { Writable } from 'node:stream';
import type { StageName } from './stages';

/**
 * What every capture file writer shares (classic pcap in pcap.ts, pcapng in
 * pcapng.ts): the counters, the bounded buffer in front of the disk, the
 * accounting of each frame and the closing. A format only says how its file
 * starts and how one frame is encoded.
 */
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

/** Where and when a frame was seen, and what to say of it (formats keep what they can). */
export interface FrameMark {
  readonly stage: StageName;
  /** Microseconds since the Unix epoch; now by default. */
  readonly micros?: number;
  readonly comment?: string;
}

/** Microseconds since the Unix epoch, from the monotonic high-resolution clock. */
export function wallClockMicros(): number {
  return Math.round((performance.timeOrigin + performance.now()) * 1000);
}

export abstract class CaptureWriter {
  readonly stats: CaptureStats = { captured: 0, filtered: 0, truncated: 0, dropped: 0, bytes: 0 };
  private failed = false;

  /** `header` opens the file; `recordOverhead` bounds the bytes a frame adds beside its own. */
  protected constructor(
    private readonly stream: Writable,
    readonly snaplen: number,
    private readonly maxBuffered: number,
    header: Buffer,
    private readonly recordOverhead: number,
  ) {
    stream.on('error', (err: Error) => {
      this.failed = true;
      this.stats.error ??= err.message;
    });
    this.push(header);
  }

  /** Appends one frame (copied: the caller's buffer is live); false when it was dropped. */
  write(frame: Uint8Array, mark: FrameMark): boolean {
    const caplen = Math.min(frame.length, this.snaplen);
    if (this.failed || this.stream.writableLength + this.recordOverhead + caplen > this.maxBuffered) {
      this.stats.dropped++;
      return false;
    }
    const micros = Math.max(0, Math.floor(mark.micros ?? wallClockMicros()));
    this.push(this.encode(frame, caplen, micros, mark));
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

  /** The bytes of one frame's record, the frame cut to `caplen`. */
  protected abstract encode(frame: Uint8Array, caplen: number, micros: number, mark: FrameMark): Buffer;

  /** Writes bytes that are not a frame's record (pcapng's interface blocks). */
  protected push(chunk: Buffer): void {
    this.stream.write(chunk);
    this.stats.bytes += chunk.length;
  }
}
