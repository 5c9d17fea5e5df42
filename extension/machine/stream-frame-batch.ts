/**
 * Frames for QEMU's `-netdev stream` gathered into few writes. One socket
 * write per frame costs a syscall and a wake-up of QEMU's reader per frame;
 * a bulk download produces dozens of frames per event-loop turn, so they are
 * copied (length header included) into shared chunks and written together
 * once the turn's I/O callbacks have run.
 */

/** Size of one gathering chunk; a frame that does not fit in a fresh one gets a chunk of its own. */
export const STREAM_BATCH_CHUNK = 64 * 1024;

/** A chunk's unfilled tail smaller than this is not worth keeping for the next batch. */
const MIN_TAIL = 2048;

export class StreamFrameBatcher {
  private chunks: Buffer[] = [];
  /** The chunk being filled: bytes [start, fill) are queued, [0, start) went out in earlier writes. */
  private current: Buffer | undefined;
  private start = 0;
  private fill = 0;
  /** Part of `current` went out in a write the socket kept: until it is replaced, it is never rewound. */
  private currentShared = false;
  private scheduled = false;
  /** The scheduled flush, when the scheduler gave a handle: cleared when a flush comes first. */
  private scheduledImmediate: NodeJS.Immediate | undefined;
  private pendingBytes = 0;

  /**
   * @param write receives the turn's chunks, in order, at least one. It returns
   *   true when the socket took them whole before returning (a synchronous
   *   write): their memory is then filled again by the next batch instead of
   *   a new chunk being allocated. Otherwise the chunks are never touched again.
   * @param schedule runs the flush later in this turn (setImmediate: after the poll phase's callbacks).
   *   The Immediate it returns is cleared by an earlier flush: a flush left scheduled for nothing
   *   would cost the event loop one more round (a poll that does not sleep, the check phase) per wake-up.
   */
  constructor(
    private readonly write: (chunks: Buffer[]) => boolean | void,
    private readonly schedule: (flush: () => void) => NodeJS.Immediate | void = (f) => setImmediate(f),
  ) {}

  private readonly scheduledFlush = (): void => {
    this.scheduledImmediate = undefined;
    this.flush();
  };

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
      this.start = this.fill = 0;
      this.currentShared = false;
    }
    this.current.writeUInt32BE(frame.length, this.fill);
    this.current.set(frame, this.fill + 4);
    this.fill += size;
    this.pendingBytes += size;
    if (!this.scheduled) {
      this.scheduled = true;
      this.scheduledImmediate = this.schedule(this.scheduledFlush) ?? undefined;
    }
  }

  /** Hands everything queued to `write` now. */
  flush(): void {
    this.unschedule();
    this.closeCurrent();
    if (!this.chunks.length) return;
    const chunks = this.chunks;
    this.chunks = [];
    this.pendingBytes = 0;
    const taken = this.write(chunks) === true;
    if (!this.current) return;
    if (taken && !this.currentShared) this.start = this.fill = 0;
    else if (!taken) this.currentShared = true;
  }

  /** Forgets what is queued (the connection is gone). */
  discard(): void {
    this.unschedule();
    this.chunks = [];
    this.current = undefined;
    this.start = this.fill = 0;
    this.pendingBytes = 0;
  }

  private unschedule(): void {
    this.scheduled = false;
    if (this.scheduledImmediate) clearImmediate(this.scheduledImmediate);
    this.scheduledImmediate = undefined;
  }

  private closeCurrent(): void {
    if (!this.current || this.fill === this.start) return;
    this.chunks.push(this.current.subarray(this.start, this.fill));
    // The filled part now belongs to the writer; the untouched rest serves the next batch.
    if (this.current.length - this.fill >= MIN_TAIL) this.start = this.fill;
    else this.current = undefined;
  }
}
