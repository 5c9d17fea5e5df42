/**
 * The net queue between a NIC and its backend, as QEMU's qemu_send_packet /
 * qemu_receive_packet: the one place every frame crosses in each direction,
 * so captures and the session view attach here.
 */
import type { ProbeHub } from '../pipeline/probe';

export interface NetQueueStats {
  toBackend: number;
  toNic: number;
  /** Frames the NIC refused (RX off, no descriptors, filtered). */
  nicRefused: number;
}

/** Frames for the NIC waiting to be delivered between guest time slices. */
const MAX_PENDING_TO_NIC = 512;

export class NetQueue {
  readonly stats: NetQueueStats = { toBackend: 0, toNic: 0, nicRefused: 0 };
  private pendingToNic: Uint8Array[] = [];
  private flushScheduled = false;
  private backend: (frame: Uint8Array) => void = () => {};
  private nic: (frame: Uint8Array) => boolean = () => false;

  constructor(private readonly probes: ProbeHub) {}

  attachBackend(deliver: (frame: Uint8Array) => void): void {
    this.backend = deliver;
  }

  attachNic(deliver: (frame: Uint8Array) => boolean): void {
    this.nic = deliver;
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
   */
  toNic(frame: Uint8Array): void {
    if (this.pendingToNic.length >= MAX_PENDING_TO_NIC) {
      this.stats.nicRefused++;
      return;
    }
    this.pendingToNic.push(frame);
    if (!this.flushScheduled) {
      this.flushScheduled = true;
      setImmediate(() => this.flush());
    }
  }

  private flush(): void {
    this.flushScheduled = false;
    const frames = this.pendingToNic;
    this.pendingToNic = [];
    for (const f of frames) this.deliverToNic(f);
  }

  /** qemu_receive_packet. */
  private deliverToNic(frame: Uint8Array): void {
    const p = this.probes.probes.qemu_receive_packet;
    if (p.armed && p.fire({ stage: p.stage, frame }, () => this.deliverToNic(frame))) return;
    this.stats.toNic++;
    if (!this.nic(frame)) this.stats.nicRefused++;
  }
}
