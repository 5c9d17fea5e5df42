/**
 * Frames for QEMU's `-netdev stream` gathered into few writes. One socket
 * write per frame costs a syscall and a wake-up of QEMU's reader per frame;
 * a bulk download produces dozens of frames per event-loop turn, so they are
 * copied (length header included) into shared chunks and written together
 * once the turn's I/O callbacks have run.
 */

/** Size of one gathering chunk; a frame that does not fit in a fresh one gets a chunk of its own. */
export const STREAM_BATCH_CHUNK = 64 * 1024;

export class StreamFrameBatcher {
  private chunks: Buffer[] = [];
  private current: Buffer | undefined;
  private fill = 0;
  private scheduled = false;
  private pendingBytes = 0;

  /**
   * @param write receives the turn's chunks, in order, at least one; the chunks are not reused after.
   * @param schedule runs the flush later in this turn (setImmediate: after the poll phase's callbacks).
   */
  constructor(
    private readonly write: (chunks: Buffer[]) => void,
    private readonly schedule: (flush: () => void) => void = (f) => void setImmediate(f),
  ) {}

  /** Bytes queued (headers included) and not yet handed to `write`. */
  get pending(): number {
    return this.pendingBytes;
  }

  /** Copies the frame, with its 4-byte big-endian length, into the batch; the caller may reuse `frame`. */
  push(frame: Uint8Array): void {
    const size = 4 + frame.length;
    if (!this.current || this.fill + size > this.current.length) {
      this.closeCurrent();
      this.current = Buffer.allocUnsafe(Math.max(STREAM_BATCH_CHUNK, size));
      this.fill = 0;
    }
    this.current.writeUInt32BE(frame.length, this.fill);
    this.current.set(frame, this.fill + 4);
    this.fill += size;
    this.pendingBytes += size;
    if (!this.scheduled) {
      this.scheduled = true;
      this.schedule(() => this.flush());
    }
  }

  /** Hands everything queued to `write` now. */
  flush(): void {
    this.scheduled = false;
    this.closeCurrent();
    if (!this.chunks.length) return;
    const chunks = this.chunks;
    this.chunks = [];
    this.pendingBytes = 0;
    this.write(chunks);
  }

  /** Forgets what is queued (the connection is gone). */
  discard(): void {
    this.chunks = [];
    this.current = undefined;
    this.fill = 0;
    this.pendingBytes = 0;
  }

  private closeCurrent(): void {
    if (!this.current || this.fill === 0) return;
    this.chunks.push(this.current.subarray(0, this.fill));
    // The filled part now belongs to the writer; the untouched rest serves the next batch.
    this.current = this.current.length - this.fill >= 2048 ? this.current.subarray(this.fill) : undefined;
    this.fill = 0;
  }
}
