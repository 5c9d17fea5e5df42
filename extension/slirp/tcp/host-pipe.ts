/**
 * The host side of one TCP connection (libslirp's socket.c for a stream):
 * moves bytes between the connection and a Node stream (a socket, or a
 * guestfwd command). Reading pauses when the connection says so (flow control,
 * a paused VM); the guest's bytes of one turn of the event loop are gathered
 * into one buffer and leave in one write; the soread and sosend probes can hold
 * bytes here, in order, while the rest of the connection goes on. The TCP state
 * machine knows none of this.
 */
import type { ProbeHub, SessionInfo } from '../../pipeline/probe';
import { copyRange } from '../../wire/bytes';
import { abortStream, fdOf, finishStream, type HostStream } from './host-stream';
import { ProbeGate } from './probe-gate';

/** The most room gathered per turn: a bulk upload fills it with ~44 segments of 1460 bytes. */
const GATHER_BYTES = 64 * 1024;
/** The least: below 4 KiB Buffer.allocUnsafe cuts from Node's shared pool instead of allocating. */
const GATHER_MIN = 2 * 1024;

/** What the pipe tells the connection. */
export interface HostPipeEvents {
  /** Bytes read from the host, past the soread probe. */
  hostData(chunk: Buffer): void;
  /** The host sent all it will (its 'end', or a close without one), after the bytes before it. */
  hostEnded(): void;
  /** The host took bytes off the write queue: the window toward the guest may open. */
  hostDrained(): void;
  /** ECONNRESET, EPIPE and the like. */
  hostFailed(): void;
  /** Whether reading should change (a probe released or held bytes). */
  readingMayChange(): void;
  /** False once the connection is closed: a late close of the stream then changes nothing. */
  readonly isOpen: boolean;
  sessionInfo(): SessionInfo;
}

export class HostPipe {
  private stream: HostStream | undefined;
  private streamOpen = false;
  private reading = false;
  /**
   * Guest bytes not yet written: `gathered` bytes at the start of `gather`,
   * written at the end of the turn (flushGathered). Each turn gets a buffer
   * sized from the turn before (twice what it gathered), so a bulk upload
   * writes 64 KiB pieces and an idle connection keeps no buffer at all.
   */
  private gather: Buffer | undefined;
  private gathered = 0;
  private lastTurnBytes = 0;
  /** Bytes gathered so far in this turn, written or not. */
  private turnBytes = 0;
  private flushScheduled = false;
  /** The host ended its side (end() was told). */
  ended = false;
  private readonly sosendGate = new ProbeGate();
  private readonly soreadGate = new ProbeGate();

  constructor(
    private readonly probes: ProbeHub,
    private readonly events: HostPipeEvents,
  ) {}

  /** The stream's own addresses, to show in the NAT table. */
  attach(stream: HostStream): { localAddress: string; localPort: number; remoteAddress: string; remotePort: number } {
    this.stream = stream;
    this.streamOpen = true;
    stream.pause();
    this.reading = false;
    stream.on('data', (chunk: Buffer) => this.fromHost(chunk));
    stream.on('end', () => this.soreadGate.then(() => this.hostEnd()));
    stream.on('drain', () => this.events.hostDrained());
    stream.on('error', () => this.events.hostFailed());
    stream.on('close', () => this.hostClosed());
    const sock = stream as unknown as { localAddress?: string; localPort?: number; remoteAddress?: string; remotePort?: number };
    return { localAddress: sock.localAddress ?? '', localPort: sock.localPort ?? 0, remoteAddress: sock.remoteAddress ?? '', remotePort: sock.remotePort ?? 0 };
  }

  /** Host bytes held at soread, not yet given to the connection. */
  get heldFromHost(): number {
    return this.soreadGate.waitingBytes;
  }

  /** Bytes from the guest the host has not taken yet (its write queue and what sosend holds): what shrinks our window. */
  get backlog(): number {
    return (this.stream && !this.stream.destroyed ? this.stream.writableLength : 0) + this.gathered + this.sosendGate.waitingBytes;
  }

  get fd(): number {
    return this.stream ? fdOf(this.stream) : -1;
  }

  get isReading(): boolean {
    return this.reading;
  }

  /** True when there is a stream to read and nothing holds the bytes already read: whether reading may go on. */
  get canRead(): boolean {
    return this.stream !== undefined && this.streamOpen && !this.soreadGate.busy && !this.ended;
  }

  /** Starts or stops reading the host (a no-op when it is already so). */
  setReading(want: boolean): void {
    const s = this.stream;
    if (!s || !this.streamOpen) return;
    if (want && !this.reading) {
      this.reading = true;
      s.resume();
    } else if (!want && this.reading) {
      this.reading = false;
      s.pause();
    }
  }

  private fromHost(chunk: Buffer): void {
    if (!this.soreadGate.busy && !this.probes.probes.soread.enter()) this.hostData(chunk);
    else this.readThroughProbe(chunk);
  }

  /** Apart from fromHost so that its closure's context is made only when a probe is armed or holds bytes. */
  private readThroughProbe(chunk: Buffer): void {
    this.soreadGate.pass(this.probes.probes.soread, { stage: 'soread', frame: new Uint8Array(0), payload: chunk, session: this.events.sessionInfo() }, () => this.hostData(chunk));
    this.events.readingMayChange();
  }

  /** The segments made of the bytes read follow soread; whatever the stack sends next (a bare ACK, a SYN-ACK, a retransmit) does not. */
  private hostData(chunk: Buffer): void {
    this.events.hostData(chunk);
    this.probes.endRoute();
  }

  private hostEnd(): void {
    this.ended = true;
    this.events.hostEnded();
  }

  private hostClosed(): void {
    this.streamOpen = false;
    this.reading = false;
    if (!this.events.isOpen) return;
    // A stream closed without its 'end' (a killed command, a destroyed socket) still ends toward the guest.
    if (!this.ended) this.soreadGate.then(() => this.hostEnd());
  }

  /**
   * Guest bytes `bytes[start, end)` for the host, through the sosend probe. They are the
   * NIC's and will be reused: what is kept is a copy, made without a view of them.
   */
  write(bytes: Uint8Array, start: number, end: number): void {
    if (!this.sosendGate.busy && !this.probes.probes.sosend.enter()) this.gatherBytes(bytes, start, end);
    else this.writeThroughProbe(Buffer.from(bytes.subarray(start, end)));
  }

  /** A probe sees (and may hold) each segment's bytes on their own; what was gathered before goes first. Apart from write() so that its closure's context is made only here. */
  private writeThroughProbe(copy: Buffer): void {
    this.flushGathered();
    this.sosendGate.pass(this.probes.probes.sosend, { stage: 'sosend', frame: new Uint8Array(0), payload: copy, session: this.events.sessionInfo() }, () => this.writeNow(copy));
  }

  private gatherBytes(bytes: Uint8Array, start: number, end: number): void {
    const s = this.stream;
    if (!s || !this.streamOpen || s.writableEnded) return;
    const length = end - start;
    let g = this.gather;
    if (!g || g.length - this.gathered < length) {
      this.flushGathered();
      // Sized from the last turn, or from this one once it outgrew its buffer (a burst after idle):
      // otherwise a long turn would write and allocate again for every segment.
      const want = 2 * Math.max(this.lastTurnBytes, this.turnBytes);
      g = this.gather = Buffer.allocUnsafe(Math.max(length, Math.min(GATHER_BYTES, Math.max(GATHER_MIN, want))));
    }
    copyRange(g, this.gathered, bytes, start, end);
    this.gathered += length;
    this.turnBytes += length;
    if (!this.flushScheduled) {
      this.flushScheduled = true;
      setImmediate(flushAtTurnEnd, this);
    }
  }

  /** The turn is over: what it gathered leaves in one write, and sizes the next turn's buffer. */
  flushTurn(): void {
    this.flushScheduled = false;
    this.lastTurnBytes = this.turnBytes;
    this.turnBytes = 0;
    this.flushGathered();
  }

  /** Writes what was gathered; the buffer goes with it (the stream holds it until written). */
  private flushGathered(): void {
    const g = this.gather;
    this.gather = undefined;
    if (!g || this.gathered === 0) return;
    const n = this.gathered;
    this.gathered = 0;
    this.writeNow(g.subarray(0, n));
  }

  private writeNow(data: Buffer): void {
    const s = this.stream;
    if (!s || !this.streamOpen || s.writableEnded || s.destroyed) return;
    s.write(data);
  }

  /** The guest finished sending: end the host's writing side after what sosend still holds. */
  end(): void {
    this.sosendGate.then(() => {
      this.flushGathered();
      if (this.stream && this.streamOpen && !this.stream.writableEnded) this.stream.end();
    });
  }

  /** Ends the host side gracefully (FIN after what was written); the stream is no longer ours. */
  finish(): void {
    this.flushGathered();
    if (this.stream && this.streamOpen) finishStream(this.stream);
    this.streamOpen = false;
  }

  /** Resets the host side (the guest reset, or the connection was given up). */
  abort(): void {
    this.gathered = 0;
    if (this.stream && this.streamOpen) abortStream(this.stream);
  }

  /** Forgets held bytes; a stream not closed in the normal way (both halves ended) is reset. */
  release(): void {
    // A normal ending flushed at end(): what is left belongs to a connection given up.
    this.gathered = 0;
    this.sosendGate.clear();
    this.soreadGate.clear();
    if (this.stream && this.streamOpen && !(this.ended && this.stream.writableEnded)) abortStream(this.stream);
  }
}

/** One function for every pipe (setImmediate passes the pipe): no closure per connection. */
function flushAtTurnEnd(pipe: HostPipe): void {
  pipe.flushTurn();
}
