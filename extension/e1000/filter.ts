import { RAH_AV, RA_ENTRIES, RCTL, REG } from './registers';

const W = (offset: number) => offset >>> 2;

/** Right shifts that pick the 12 hash bits out of destination bytes 4-5, by RCTL.MO. */
const MO_SHIFT = [4, 3, 2, 0];

export function isVlanTagged(frame: Uint8Array, vet: number): boolean {
  return frame.length >= 18 && ((frame[12] << 8) | frame[13]) === (vet & 0xffff);
}

/** The multicast table array bit for a destination address (what the driver sets). */
export function multicastHash(dest: Uint8Array, mo: number): number {
  return (((dest[5] << 8) | dest[4]) >>> MO_SHIFT[mo & 3]) & 0xfff;
}

/**
 * The receive address filter (manual 3.2.3): the VLAN filter table when VFE is
 * set, then broadcast (BAM), promiscuous modes (UPE, MPE), the 16 exact
 * addresses, and the 4096-bit multicast hash.
 */
export function acceptFrame(regs: Uint32Array, frame: Uint8Array): boolean {
  if (frame.length < 14) return false;
  const rctl = regs[W(REG.RCTL)];
  if (rctl & RCTL.VFE && isVlanTagged(frame, regs[W(REG.VET)])) {
    const vid = ((frame[14] << 8) | frame[15]) & 0xfff;
    if (!((regs[W(REG.VFTA) + (vid >>> 5)] >>> (vid & 31)) & 1)) return false;
  }
  const multicast = (frame[0] & 1) !== 0;
  if (multicast) {
    const broadcast = (frame[0] & frame[1] & frame[2] & frame[3] & frame[4] & frame[5]) === 0xff;
    if (broadcast && rctl & RCTL.BAM) return true;
    if (rctl & RCTL.MPE) return true;
  } else if (rctl & RCTL.UPE) {
    return true;
  }
  const lowDest = (frame[0] | (frame[1] << 8) | (frame[2] << 16) | (frame[3] << 24)) >>> 0;
  const highDest = frame[4] | (frame[5] << 8);
  for (let i = 0; i < RA_ENTRIES; i++) {
    const rah = regs[W(REG.RA) + 2 * i + 1];
    if (!(rah & RAH_AV)) continue;
    if (regs[W(REG.RA) + 2 * i] === lowDest && (rah & 0xffff) === highDest) return true;
  }
  if (multicast) {
    const bit = multicastHash(frame, (rctl & RCTL.MO_MASK) >>> RCTL.MO_SHIFT);
    if ((regs[W(REG.MTA) + (bit >>> 5)] >>> (bit & 31)) & 1) return true;
  }
  return false;
}
