import type { DelayedCause } from './interrupts';
import { DELAY_UNIT_MS } from './interrupts';
import type { EngineDeps } from './engine-deps';
import { RingRegisters, readAddress64 } from './ring';
import { acceptFrame, isVlanTagged } from './filter';
import { ethernetCrc } from './fcs';
import { CTRL, DESC_SIZE, ICR, RCTL, REG, RXD_ERR, RXD_STA, STAT } from './registers';

const W = (offset: number) => offset >>> 2;
const MIN_FRAME = 60;
/** Largest frame without RCTL.LPE: 1518 + a VLAN tag. */
const MAX_FRAME = 1522;
const MAX_LONG_FRAME = 16384;

/** RX buffer size in bytes from RCTL.BSIZE/BSEX (manual 13.4.22); 0 for the reserved encoding. */
export function rxBufferSize(rctl: number): number {
  const bsize = (rctl & RCTL.BSIZE_MASK) >>> RCTL.BSIZE_SHIFT;
  if (rctl & RCTL.BSEX) return bsize === 0 ? 0 : 32768 >>> bsize;
  return 2048 >>> bsize;
}

export interface RxDeps extends EngineDeps {
  readonly rxDelay: DelayedCause;
  readonly linkUp: () => boolean;
}

/**
 * The receive side (e1000_receive_iov): filters a frame, strips its VLAN tag
 * when CTRL.VME asks, writes it with its FCS across as many RX buffers as it
 * needs, writes the descriptors back and raises RXT0 (through the RDTR/RADV
 * delay) and RXDMT0.
 */
export class RxEngine {
  readonly ring: RingRegisters;
  private epoch = 0;
  private readonly desc = new Uint8Array(DESC_SIZE);

  constructor(private readonly d: RxDeps) {
    this.ring = new RingRegisters(d.regs, REG.RDBAL, REG.RDBAH, REG.RDLEN, REG.RDH, REG.RDT);
  }

  /**
   * False only when the frame would be missed for lack of RX buffers (QEMU's
   * e1000_can_receive): the net queue then holds it until the guest gives
   * buffers back, instead of dropping it. A disabled receiver or a down link
   * still takes (and drops) frames, as the hardware does.
   */
  hasBuffersFor(frameLength: number): boolean {
    const rctl = this.d.regs[W(REG.RCTL)];
    if (!this.d.linkUp() || !(rctl & RCTL.EN)) return true;
    const ring = this.ring;
    const n = ring.size;
    const free = ring.valid ? (ring.tail - ring.head + n) % n : 0;
    return free * (rxBufferSize(rctl) || 2048) >= Math.max(frameLength, MIN_FRAME) + 4;
  }

  /**
   * e1000_receive_iov. The frame becomes the NIC's: a probe may hold it (and
   * the debugger show it) until the VM resumes, so the caller hands over a
   * buffer it will not write again, as the net queue does (NetQueue.toNic).
   * Nothing is copied, armed probe or not.
   */
  receive(frame: Uint8Array): boolean {
    const p = this.d.probes.probes.e1000_receive_iov;
    if (p.enter(frame)) {
      const hit = { stage: p.stage, frame };
      const epoch = this.epoch;
      const resume = (): void => {
        p.fire(hit);
        if (epoch === this.epoch) this.deliver(frame);
      };
      if (p.fire(hit, resume)) return true;
    }
    return this.deliver(frame);
  }

  private deliver(input: Uint8Array): boolean {
    const { regs, counters } = this.d;
    const rctl = regs[W(REG.RCTL)];
    if (!this.d.linkUp() || !(rctl & RCTL.EN)) {
      counters.rxDisabled++;
      this.d.probes.drops.drop('rx-disabled', undefined, input);
      return false;
    }
    if (input.length < 14) {
      this.d.stats.inc(STAT.RUC);
      counters.rxFiltered++;
      this.d.probes.drops.drop('rx-runt', undefined, input);
      return false;
    }
    if ((input.length > MAX_LONG_FRAME || (input.length > MAX_FRAME && !(rctl & RCTL.LPE))) && !(rctl & RCTL.SBP)) {
      this.d.stats.inc(STAT.ROC);
      counters.rxOversize++;
      this.d.probes.drops.drop('rx-oversize', undefined, input);
      return false;
    }
    if (!acceptFrame(regs, input)) {
      counters.rxFiltered++;
      this.d.probes.drops.drop('rx-filtered', undefined, input);
      return false;
    }

    let status = 0;
    let special = 0;
    let body = input;
    if (regs[W(REG.CTRL)] & CTRL.VME && isVlanTagged(input, regs[W(REG.VET)])) {
      special = (input[14] << 8) | input[15];
      status |= RXD_STA.VP;
      body = new Uint8Array(input.length - 4);
      body.set(input.subarray(0, 12));
      body.set(input.subarray(16), 12);
    }
    const dataLen = Math.max(body.length, MIN_FRAME);
    const withFcs = !(rctl & RCTL.SECRC);
    const total = dataLen + (withFcs ? 4 : 0);
    const bufSize = rxBufferSize(rctl) || 2048;

    const ring = this.ring;
    const n = ring.size;
    const free = ring.valid ? (ring.tail - ring.head + n) % n : 0;
    if (free * bufSize < total) {
      this.d.probes.drops.drop('rx-ring-full', undefined, input);
      this.overrun();
      return false;
    }

    // Short frames are padded with zeros; the FCS covers the padded frame.
    const packet = new Uint8Array(total);
    packet.set(body);
    if (withFcs) {
      const crc = ethernetCrc(packet, dataLen);
      packet[dataLen] = crc & 0xff;
      packet[dataLen + 1] = (crc >>> 8) & 0xff;
      packet[dataLen + 2] = (crc >>> 16) & 0xff;
      packet[dataLen + 3] = crc >>> 24;
    }

    let offset = 0;
    let head = ring.head;
    while (offset < total) {
      const address = ring.descriptorAddress(head);
      const raw = this.d.bus.dmaRead(address, DESC_SIZE);
      if (!raw) {
        this.d.refusals.count('dma-outside-ram');
        this.d.probes.drops.drop('rx-dma-outside-ram', undefined, input);
        ring.head = head;
        this.overrun();
        return false;
      }
      this.desc.set(raw);
      const bufAddr = readAddress64(this.desc, 0);
      const chunk = Math.min(bufSize, total - offset);
      let errors = 0;
      let length = 0;
      if (bufAddr !== 0) {
        if (!this.d.bus.dmaWrite(bufAddr, packet.subarray(offset, offset + chunk))) {
          this.d.refusals.count('dma-outside-ram');
          errors |= RXD_ERR.RXE;
        }
        offset += chunk;
        length = chunk;
      }
      // A descriptor with a null buffer is skipped (written back with DD, length 0).
      const last = offset >= total;
      const wb = this.desc;
      wb[8] = length & 0xff;
      wb[9] = length >>> 8;
      wb[10] = 0; // packet checksum: not computed
      wb[11] = 0;
      wb[12] = RXD_STA.DD | status | (last ? RXD_STA.EOP | RXD_STA.IXSM : 0);
      wb[13] = errors;
      wb[14] = special & 0xff;
      wb[15] = special >>> 8;
      this.d.bus.dmaWrite(address + 8, wb.subarray(8, 16));
      head = head + 1 >= n ? 0 : head + 1;
      if (head === ring.tail && !last) {
        // Only a null-buffer descriptor run can get here: the free count said it fits.
        ring.head = head;
        this.overrun();
        return false;
      }
    }
    ring.head = head;

    this.d.stats.received(input, total);
    counters.rxFrames++;
    counters.rxBytes += body.length;

    const rdtr = regs[W(REG.RDTR)] & 0xffff;
    this.d.rxDelay.event(rdtr * DELAY_UNIT_MS, (regs[W(REG.RADV)] & 0xffff) * DELAY_UNIT_MS);
    const rdmts = (rctl & RCTL.RDMTS_MASK) >>> RCTL.RDMTS_SHIFT;
    const left = (ring.tail - ring.head + n) % n;
    if (left * DESC_SIZE <= ring.lengthBytes >>> (rdmts + 1)) this.d.interrupts.raise(ICR.RXDMT0);
    return true;
  }

  /** No descriptors for the frame: it is missed (manual: RNBC, MPC, ICR.RXO). */
  private overrun(): void {
    this.d.stats.inc(STAT.RNBC);
    this.d.stats.inc(STAT.MPC);
    this.d.counters.rxNoDescriptors++;
    this.d.interrupts.raise(ICR.RXO);
  }

  reset(): void {
    this.epoch++;
  }
}
