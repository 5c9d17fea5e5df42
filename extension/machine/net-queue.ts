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

export class NetQueue {
  readonly stats: NetQueueStats = { toBackend: 0, toNic: 0, nicRefused: 0, nicFull: 0 };
  private pendingToNic: Uint8Array[] = [];
  private flushScheduled = false;
  private backend: (frame: Uint8Array) => void = () => {};
  private nic: (frame: Uint8Array) => boolean = () => false;
  private nicCanReceive: (length: number) => boolean = () => true;

  constructor(private readonly probes: ProbeHub) {}

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

  /** qemu_send_packet: a frame the guest transmitted. */
  fromNic(frame: Uint8Array): void {
    const p = this.probes.probes.qemu_send_packet;
    if (p.armed && p.fire({ stage: p.stage, frame }, () => this.fromNic(frame))) return;
    this.stats.toBackend++;
    this.backend(frame);
  }

  /**
   * A frame for the guest. Delivery is deferred to the next turn of the event
   * loop: a backend answering synchronously (an ARP reply) must not re-enter
   * the NIC while it is still inside the guest's register write.
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

  private scheduleFlush(): void {
    if (this.flushScheduled) return;
    this.flushScheduled = true;
    setImmediate(() => this.flush());
  }

  private flush(): void {
    this.flushScheduled = false;
    let i = 0;
    const frames = this.pendingToNic;
    for (; i < frames.length; i++) {
      if (!this.nicCanReceive(frames[i].length)) {
        this.stats.nicFull++;
        break;
      }
      this.deliverToNic(frames[i]);
    }
    frames.splice(0, i);
  }

  /** qemu_receive_packet. */
  private deliverToNic(frame: Uint8Array): void {
    const p = this.probes.probes.qemu_receive_packet;
    if (p.armed && p.fire({ stage: p.stage, frame }, () => this.deliverToNic(frame))) return;
    this.stats.toNic++;
    if (!this.nic(frame)) this.stats.nicRefused++;
  }
}
