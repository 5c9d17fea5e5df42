/**
 * Guest serial output on its way to a console webview, with flow control.
 *
 * All output goes into one bounded log (the scrollback). What the webview has
 * not yet been sent is simply the tail of that log after `sentOffset`, so the
 * scrollback is also the buffer: a flood costs at most `scrollbackBytes` of
 * memory and loses nothing that fits in it. Chunks go out while fewer than
 * `windowBytes` are unacknowledged; the webview acks each chunk once xterm has
 * written it, so a slow renderer slows the sending instead of piling messages
 * up in the editor. A (re)loaded webview gets the whole log replayed.
 *
 * Knows nothing of VS Code: console-panel.ts feeds it and carries its messages.
 */
import type { HostMessage } from '../../webview/shared/protocol';

export interface ConsoleStreamLimits {
  /** Largest single output message. */
  chunkBytes: number;
  /** Unacknowledged bytes allowed in flight. */
  windowBytes: number;
  /** Output kept for replay, and the bound on what waits to be sent. */
  scrollbackBytes: number;
}

export const DEFAULT_LIMITS: ConsoleStreamLimits = {
  chunkBytes: 32 * 1024,
  windowBytes: 128 * 1024,
  scrollbackBytes: 1024 * 1024,
};

interface LogChunk {
  /** Absolute offset of bytes[0] in everything ever written. */
  offset: number;
  bytes: Uint8Array;
}

export class ConsoleStream {
  private readonly chunks: LogChunk[] = [];
  /** Absolute offsets: the log holds [start, end). */
  private start = 0;
  private end = 0;
  /** Everything before this offset has been sent (or is lost). */
  private sentOffset = 0;
  private readonly inFlight = new Map<number, number>();
  private unacked = 0;
  private nextId = 1;
  private attached = false;
  /** Bytes that fell out of the log before they could be sent since the last report. */
  private unreportedLoss = 0;
  /** Output before this offset was in the log when the page attached: a replay. */
  private replayEnd = 0;
  /** Bytes lost in total, for the log and the tests. */
  lostBytes = 0;

  constructor(
    private readonly send: (message: HostMessage) => void,
    private readonly limits: ConsoleStreamLimits = DEFAULT_LIMITS,
  ) {}

  get unackedBytes(): number {
    return this.unacked;
  }

  /** Bytes written but not yet sent to the webview. */
  get pendingBytes(): number {
    return this.end - Math.max(this.sentOffset, this.start);
  }

  get scrollbackBytes(): number {
    return this.end - this.start;
  }

  /** Output from the guest. */
  write(bytes: Uint8Array): void {
    if (bytes.length === 0) return;
    this.append(bytes);
    this.pump();
  }

  /** A line of our own in the console (a lost-output notice, the VM's end). */
  note(text: string): void {
    this.write(new TextEncoder().encode(`\r\n\x1b[2m[usernet] ${text}\x1b[0m\r\n`));
  }

  /** A webview is ready (first load, reopened, or reloaded after being hidden): replay everything. */
  attach(): void {
    this.attached = true;
    this.inFlight.clear();
    this.unacked = 0;
    this.sentOffset = this.start;
    this.replayEnd = this.end;
    this.unreportedLoss = 0;
    this.send({ type: 'reset' });
    this.pump();
  }

  /** The webview is gone: stop sending until one attaches again. */
  detach(): void {
    this.attached = false;
    this.inFlight.clear();
    this.unacked = 0;
  }

  ack(id: number): void {
    const bytes = this.inFlight.get(id);
    if (bytes === undefined) return; // an ack from before a reset, or made up
    this.inFlight.delete(id);
    this.unacked -= bytes;
    this.pump();
  }

  private append(bytes: Uint8Array): void {
    const max = this.limits.scrollbackBytes;
    // A single write larger than the whole log keeps only its tail.
    const kept = bytes.length > max ? bytes.subarray(bytes.length - max) : bytes.slice();
    const skipped = bytes.length - kept.length;
    if (skipped) this.dropFront(this.end + skipped);
    this.end += skipped;
    this.chunks.push({ offset: this.end, bytes: kept });
    this.end += kept.length;
    if (this.end - this.start > max) this.dropFront(this.end - max);
  }

  /** Forgets log bytes before `offset`, counting those never sent as lost. */
  private dropFront(offset: number): void {
    while (this.chunks.length) {
      const first = this.chunks[0]!;
      const firstEnd = first.offset + first.bytes.length;
      if (firstEnd <= offset) {
        this.chunks.shift();
      } else if (first.offset < offset) {
        this.chunks[0] = { offset, bytes: first.bytes.subarray(offset - first.offset) };
        break;
      } else {
        break;
      }
    }
    if (offset <= this.start) return;
    if (this.attached && this.sentOffset < offset) {
      const lost = offset - this.sentOffset;
      this.lostBytes += lost;
      this.unreportedLoss += lost;
      this.sentOffset = offset;
    }
    this.start = offset;
  }

  private pump(): void {
    if (!this.attached) return;
    // The notice waits for room in the window like any output, so it counts the whole loss.
    if (this.unreportedLoss && this.unacked < this.limits.windowBytes) {
      const lost = this.unreportedLoss;
      this.unreportedLoss = 0;
      this.sendChunk(new TextEncoder().encode(`\r\n\x1b[2m[usernet] ${lost} bytes of output were dropped: the console could not keep up\x1b[0m\r\n`));
    }
    while (this.sentOffset < this.end && this.unacked < this.limits.windowBytes) {
      const replay = this.sentOffset < this.replayEnd;
      // A chunk is all replay or all new, never both.
      const room = Math.min(this.limits.chunkBytes, this.limits.windowBytes - this.unacked);
      const chunk = this.slice(this.sentOffset, replay ? Math.min(room, this.replayEnd - this.sentOffset) : room);
      this.sentOffset += chunk.length;
      this.sendChunk(chunk, replay);
    }
  }

  private sendChunk(bytes: Uint8Array, replay = false): void {
    const id = this.nextId++;
    this.inFlight.set(id, bytes.length);
    this.unacked += bytes.length;
    const data = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length).toString('base64');
    this.send(replay ? { type: 'output', id, data, replay } : { type: 'output', id, data });
  }

  /** Up to `max` bytes of the log from absolute `offset`, joined across chunks. */
  private slice(offset: number, max: number): Uint8Array {
    const parts: Uint8Array[] = [];
    let need = Math.min(max, this.end - offset);
    let total = 0;
    for (const c of this.chunks) {
      const cEnd = c.offset + c.bytes.length;
      if (cEnd <= offset) continue;
      if (need <= 0) break;
      const from = Math.max(0, offset - c.offset);
      const part = c.bytes.subarray(from, from + need);
      parts.push(part);
      need -= part.length;
      total += part.length;
      offset += part.length;
    }
    if (parts.length === 1) return parts[0]!;
    const out = new Uint8Array(total);
    let at = 0;
    for (const p of parts) {
      out.set(p, at);
      at += p.length;
    }
    return out;
  }
}
