/**
 * Bytes read from the host socket that the guest has not acknowledged yet.
 * Chunks are kept as Node handed them over (no copy); segments copy straight
 * from here into the packet they build.
 */
export class ByteQueue {
  private chunks: Uint8Array[] = [];
  /** Bytes of chunks[0] already dropped. */
  private headOffset = 0;
  private total = 0;

  get length(): number {
    return this.total;
  }

  push(chunk: Uint8Array): void {
    if (chunk.length === 0) return;
    this.chunks.push(chunk);
    this.total += chunk.length;
  }

  /** Forgets the first `n` bytes (acknowledged by the guest). */
  drop(n: number): void {
    n = Math.min(n, this.total);
    this.total -= n;
    while (n > 0) {
      const head = this.chunks[0];
      const left = head.length - this.headOffset;
      if (n < left) {
        this.headOffset += n;
        return;
      }
      n -= left;
      this.chunks.shift();
      this.headOffset = 0;
    }
  }

  /** Copies `len` bytes starting at logical `offset` into `dst` at `dstOffset`; never reads past what is queued. */
  copyOut(offset: number, len: number, dst: Uint8Array, dstOffset: number): void {
    if (offset < 0 || len <= 0 || offset + len > this.total) return;
    let pos = offset + this.headOffset;
    let i = 0;
    while (i < this.chunks.length && pos >= this.chunks[i].length) {
      pos -= this.chunks[i].length;
      i++;
    }
    while (len > 0 && i < this.chunks.length) {
      const c = this.chunks[i];
      const n = Math.min(len, c.length - pos);
      // A plain Uint8Array over the part: Buffer's subarray builds a Buffer through its species constructor, a slower path.
      dst.set(n === c.length ? c : new Uint8Array(c.buffer, c.byteOffset + pos, n), dstOffset);
      dstOffset += n;
      len -= n;
      pos = 0;
      i++;
    }
  }

  clear(): void {
    this.chunks = [];
    this.headOffset = 0;
    this.total = 0;
  }
}
