/**
 * The net queue between a NIC and its backend, as QEMU's qemu_send_packet /
 * qemu_receive_packet: the one place every frame crosses in each direction,
 * so captures and the session view attach here.
 */
import type { ProbeHub } from '../pipeline/probe';

export interface NetQueueStats {
  toBackend: number;
  toNic: number;
  /** Frames the NIC refused (RX off, filtered) or that found the queue full. */
  nicRefused: number;
  /** Times delivery stopped because the NIC had no RX buffers (frames then wait). */
  nicFull: number;
}

/**
 * Frames for the NIC wait here between guest time slices, and while the guest
 * has not yet returned RX buffers (as QEMU's queue does when e1000_can_receive
 * is false): the bound is what a slow guest can cost in memory.
 */
export const MAX_PENDING_TO_NIC = 1024;

/**
 * Frame order is kept in each direction, as on a wire: a frame held by a
 * breakpoint (at qemu_send_packet, or on the way in at qemu_receive_packet or
 * e1000_receive_iov) stalls the frames behind it until it is released, so 1, 2,
 * 3 with 1 held still arrive as 1, 2, 3. Network conditions (netem) that take
 * a frame do not stall the queue: reordering is then what was asked for.
 */
export class NetQueue {
  readonly stats: NetQueueStats = { toBackend: 0, toNic: 0, nicRefused: 0, nicFull: 0 };
  private pendingToNic: Uint8Array[] = [];
  /**
   * Frames from the guest behind one held at qemu_send_packet. Bounded by the
   * TX ring: a hold pauses the machine, so the NIC sends at most what its ring
   * already held.
   */
  private pendingToBackend: Uint8Array[] = [];
  /** The frame held on its way to the NIC (or to the backend) that the others wait behind. */
  private heldToNic: Uint8Array | undefined;
  private heldToBackend: Uint8Array | undefined;
  private flushScheduled = false;
  private backend: (frame: Uint8Array) => void = () => {};
  private nic: (frame: Uint8Array) => boolean = () => false;
  private nicCanReceive: (length: number) => boolean = () => true;

  constructor(private readonly probes: ProbeHub) {
    probes.observeReleases(() => this.released());
  }

  attachBackend(deliver: (frame: Uint8Array) => void): void {
    this.backend = deliver;
  }

  /** `canReceive` says whether the NIC has buffers for a frame now; when not, frames wait for nicReady(). */
  attachNic(deliver: (frame: Uint8Array) => boolean, canReceive?: (length: number) => boolean): void {
    this.nic = deliver;
    if (canReceive) this.nicCanReceive = canReceive;
  }

  /** The NIC has buffers again (the guest wrote RDT): deliver what waits. */
  nicReady(): void {
    if (this.pendingToNic.length) this.scheduleFlush();
  }

  /** A frame the guest transmitted: it waits while an earlier one is held, else goes through qemu_send_packet. */
  fromNic(frame: Uint8Array): void {
    if (this.heldToBackend) this.pendingToBackend.push(frame);
    else this.qemu_send_packet(frame);
  }

  private qemu_send_packet(frame: Uint8Array): void {
    const p = this.probes.probes.qemu_send_packet;
    if (p.enter(frame) && p.fire({ stage: p.stage, frame }, () => this.qemu_send_packet(frame))) {
      if (this.probes.isHeld(frame)) this.heldToBackend = frame;
      return;
    }
    this.stats.toBackend++;
    this.backend(frame);
  }

  /**
   * A frame for the guest. Delivery is deferred, to the end of the guest's
   * register write under way (deliverNow) or else to the next turn of the
   * event loop: a backend answering synchronously (an ARP reply) must not
   * re-enter the NIC while it is still inside that write.
   *
   * The frame is handed over, not lent: it waits here, then the NIC keeps it
   * (a held packet is shown as it is, without a copy) for as long as it likes.
   * A backend gives a fresh buffer for every frame (slirp's allocateFrame, the
   * stream backend's frames) and never writes one it has passed on.
   */
  toNic(frame: Uint8Array): void {
    if (this.pendingToNic.length >= MAX_PENDING_TO_NIC) {
      this.stats.nicRefused++;
      this.probes.drops.drop('netqueue-full', undefined, frame);
      return;
    }
    this.pendingToNic.push(frame);
    this.scheduleFlush();
  }

  /** Frames waiting for the NIC. */
  get pending(): number {
    return this.pendingToNic.length;
  }

  /**
   * Delivers the frames waiting for the NIC now: the machine calls it at the
   * end of a guest register write, when the NIC is no longer inside the write
   * (a TX walk whose frames the backend answered synchronously) but the guest
   * has not run on yet.
   */
  deliverNow(): void {
    if (this.pendingToNic.length && !this.heldToNic) this.flush();
  }

  private scheduleFlush(): void {
    if (this.flushScheduled) return;
    this.flushScheduled = true;
    setImmediate(() => this.flush());
  }

  private flush(): void {
    this.flushScheduled = false;
    let i = 0;
    const frames = this.pendingToNic;
    for (; i < frames.length && !this.heldToNic; i++) {
      if (!this.nicCanReceive(frames[i].length)) {
        this.stats.nicFull++;
        break;
      }
      this.qemu_receive_packet(frames[i]);
    }
    frames.splice(0, i);
  }

  /** qemu_receive_packet. A frame held here, or by the NIC at e1000_receive_iov, stalls the queue. */
  private qemu_receive_packet(frame: Uint8Array): void {
    const p = this.probes.probes.qemu_receive_packet;
    if (p.enter(frame) && p.fire({ stage: p.stage, frame }, () => this.qemu_receive_packet(frame))) {
      if (this.probes.isHeld(frame)) this.heldToNic = frame;
      return;
    }
    this.stats.toNic++;
    if (!this.nic(frame)) this.stats.nicRefused++;
    if (this.probes.isHeld(frame)) this.heldToNic = frame;
  }

  /** Held packets were released: the frames that waited behind ours go on, in order. */
  private released(): void {
    if (this.heldToNic && !this.probes.isHeld(this.heldToNic)) {
      this.heldToNic = undefined;
      if (this.pendingToNic.length) this.scheduleFlush();
    }
    if (this.heldToBackend && !this.probes.isHeld(this.heldToBackend)) {
      this.heldToBackend = undefined;
      const waiting = this.pendingToBackend;
      this.pendingToBackend = [];
      for (let i = 0; i < waiting.length; i++) {
        if (this.heldToBackend) {
          // Held again (another breakpoint hit): the rest waits once more, still in order.
          this.pendingToBackend = waiting.slice(i).concat(this.pendingToBackend);
          return;
        }
        this.qemu_send_packet(waiting[i]!);
      }
    }
  }
}
