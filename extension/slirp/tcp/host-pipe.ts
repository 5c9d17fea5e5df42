/**
 * The host side of one TCP connection (libslirp's socket.c for a stream):
 * moves bytes between the connection and a Node stream (a socket, or a
 * guestfwd command). Reading pauses when the connection says so (flow control,
 * a paused VM); writes made in one turn of the event loop leave in one writev
 * (cork); the soread and sosend probes can hold bytes here, in order, while the
 * rest of the connection goes on. The TCP state machine knows none of this.
 */
import type { ProbeHub, SessionInfo } from '../../pipeline/probe';
import { abortStream, fdOf, finishStream, type HostStream } from './host-stream';
import { ProbeGate } from './probe-gate';

/** What the pipe tells the connection. */
export interface HostPipeEvents {
  /** Bytes read from the host, past the soread probe. */
  data(chunk: Buffer): void;
  /** The host sent all it will (its 'end', or a close without one), after the bytes before it. */
  end(): void;
  /** The host took bytes off the write queue: the window toward the guest may open. */
  drain(): void;
  /** ECONNRESET, EPIPE and the like. */
  error(): void;
  /** Whether reading should change (a probe released or held bytes). */
  readingMayChange(): void;
  /** False once the connection is closed: a late close of the stream then changes nothing. */
  readonly open: boolean;
  sessionInfo(): SessionInfo;
}

export class HostPipe {
  private stream: HostStream | undefined;
  private streamOpen = false;
  private reading = false;
  private corked = false;
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
    stream.on('drain', () => this.events.drain());
    stream.on('error', () => this.events.error());
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
    return (this.stream && !this.stream.destroyed ? this.stream.writableLength : 0) + this.sosendGate.waitingBytes;
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
    const p = this.probes.probes.soread;
    if (!p.armed && !this.soreadGate.busy) {
      this.events.data(chunk);
      return;
    }
    this.soreadGate.pass(p, { stage: 'soread', frame: new Uint8Array(0), payload: chunk, session: this.events.sessionInfo() }, () => this.events.data(chunk));
    this.events.readingMayChange();
  }

  private hostEnd(): void {
    this.ended = true;
    this.events.end();
  }

  private hostClosed(): void {
    this.streamOpen = false;
    this.reading = false;
    if (!this.events.open) return;
    // A stream closed without its 'end' (a killed command, a destroyed socket) still ends toward the guest.
    if (!this.ended) this.soreadGate.then(() => this.hostEnd());
  }

  /** Guest bytes for the host, through the sosend probe. */
  write(data: Uint8Array): void {
    // The frame buffer is the NIC's and will be reused: the socket keeps a copy.
    const copy = Buffer.from(data);
    const p = this.probes.probes.sosend;
    if (!p.armed && !this.sosendGate.busy) {
      this.writeNow(copy);
      return;
    }
    this.sosendGate.pass(p, { stage: 'sosend', frame: new Uint8Array(0), payload: copy, session: this.events.sessionInfo() }, () => this.writeNow(copy));
  }

  private writeNow(data: Buffer): void {
    const s = this.stream;
    if (!s || !this.streamOpen || s.writableEnded) return;
    // The segments of one turn of the event loop leave in one writev, not one write each.
    if (!this.corked) {
      this.corked = true;
      s.cork();
      setImmediate(this.uncork);
    }
    s.write(data);
  }

  private readonly uncork = (): void => {
    this.corked = false;
    this.stream?.uncork();
  };

  /** The guest finished sending: end the host's writing side after what sosend still holds. */
  end(): void {
    this.sosendGate.then(() => {
      if (this.stream && this.streamOpen && !this.stream.writableEnded) this.stream.end();
    });
  }

  /** Ends the host side gracefully (FIN after what was written); the stream is no longer ours. */
  finish(): void {
    if (this.stream && this.streamOpen) finishStream(this.stream);
    this.streamOpen = false;
  }

  /** Resets the host side (the guest reset, or the connection was given up). */
  abort(): void {
    if (this.stream && this.streamOpen) abortStream(this.stream);
  }

  /** Forgets held bytes; a stream not closed in the normal way (both halves ended) is reset. */
  release(): void {
    this.sosendGate.clear();
    this.soreadGate.clear();
    if (this.stream && this.streamOpen && !(this.ended && this.stream.writableEnded)) abortStream(this.stream);
  }
}
