import { MDIC } from './registers';
import type { Refusals } from './refusals';

/** The 82540EM's internal PHY answers at MDIO address 1 only. */
export const PHY_ADDRESS = 1;

export const PHY_REG = {
  BMCR: 0x00,
  BMSR: 0x01,
  ID1: 0x02,
  ID2: 0x03,
  ANAR: 0x04,
  ANLPAR: 0x05,
  ANER: 0x06,
  NPTX: 0x07,
  LPRNP: 0x08,
  CTRL1000: 0x09,
  STAT1000: 0x0a,
  EXT_STATUS: 0x0f,
  /** Marvell M88E1011 specific registers. */
  SPEC_CTRL: 0x10,
  SPEC_STATUS: 0x11,
  INT_ENABLE: 0x12,
  INT_STATUS: 0x13,
  EXT_SPEC_CTRL: 0x14,
  RX_ERR_COUNTER: 0x15,
  PAGE_SELECT: 0x16,
  GLOBAL_STATUS: 0x17,
  LED_CTRL: 0x18,
  EXT_SPEC_CTRL2: 0x1a,
  EXT_SPEC_STATUS: 0x1b,
  EXT_ADDRESS: 0x1d,
  EXT_DATA: 0x1e,
} as const;

export const BMCR = {
  SPEED1000: 1 << 6,
  FD: 1 << 8,
  ANRESTART: 1 << 9,
  AUTOEN: 1 << 12,
  LOOPBACK: 1 << 14,
  RESET: 1 << 15,
} as const;

export const BMSR = {
  EXTCAP: 1 << 0,
  LINK: 1 << 2,
  AUTONEG_ABLE: 1 << 3,
  AN_COMPLETE: 1 << 5,
  PREAMBLE_SUPPRESS: 1 << 6,
  EXT_STATUS: 1 << 8,
  HD10: 1 << 11,
  FD10: 1 << 12,
  HD100: 1 << 13,
  FD100: 1 << 14,
} as const;

const ANLPAR_ACK = 1 << 14;
/** M88E1011 specific status: resolved, link up, full duplex, 1000 Mb/s. */
const SPEC_STATUS_LINK_UP = 0xac00;
const SPEC_STATUS_LINK_BIT = 1 << 10;

/** Registers the guest may not change (writes are ignored and counted). */
const READ_ONLY = new Set<number>([
  PHY_REG.BMSR,
  PHY_REG.ID1,
  PHY_REG.ID2,
  PHY_REG.ANLPAR,
  PHY_REG.ANER,
  PHY_REG.LPRNP,
  PHY_REG.STAT1000,
  PHY_REG.EXT_STATUS,
  PHY_REG.SPEC_STATUS,
  PHY_REG.INT_STATUS,
  PHY_REG.RX_ERR_COUNTER,
  PHY_REG.GLOBAL_STATUS,
  PHY_REG.EXT_SPEC_STATUS,
]);

function defaults(): Uint16Array {
  const r = new Uint16Array(32);
  r[PHY_REG.BMCR] = BMCR.SPEED1000 | BMCR.FD | BMCR.AUTOEN;
  r[PHY_REG.BMSR] =
    BMSR.EXTCAP | BMSR.AUTONEG_ABLE | BMSR.PREAMBLE_SUPPRESS | BMSR.EXT_STATUS |
    BMSR.HD10 | BMSR.FD10 | BMSR.HD100 | BMSR.FD100;
  r[PHY_REG.ID1] = 0x0141; // Marvell OUI
  r[PHY_REG.ID2] = 0x0c20; // M88E1011, revision 0
  r[PHY_REG.ANAR] = 0x0de1; // 10/100 half/full, pause, asymmetric pause, 802.3
  r[PHY_REG.ANLPAR] = 0x01e0; // partner: 10/100 half/full
  r[PHY_REG.CTRL1000] = 0x0e00; // advertise 1000 full, multi-port, manual master
  r[PHY_REG.STAT1000] = 0x3c00; // partner 1000 half/full, local and remote receivers OK
  r[PHY_REG.EXT_STATUS] = 0x3000; // 1000BASE-T full and half duplex capable
  r[PHY_REG.SPEC_CTRL] = 0x0360;
  r[PHY_REG.SPEC_STATUS] = SPEC_STATUS_LINK_UP;
  r[PHY_REG.EXT_SPEC_CTRL] = 0x0d60;
  return r;
}

export interface MdicResult {
  /** What MDIC reads back: READY set, the data on a read, ERROR on a bad access. */
  readonly mdic: number;
  /** The guest asked for an MDAC interrupt when the access completes. */
  readonly interrupt: boolean;
}

/**
 * The Marvell 88E1011 PHY as the MAC sees it through MDIC. Accesses complete
 * at once (READY is set on the value written), and auto-negotiation completes
 * as soon as it is restarted while the cable is in.
 */
export class Phy {
  regs = defaults();
  private link = true;

  constructor(private readonly refusals: Refusals) {
    this.applyLink();
  }

  get loopback(): boolean {
    return (this.regs[PHY_REG.BMCR] & BMCR.LOOPBACK) !== 0;
  }

  mdicWrite(value: number): MdicResult {
    const phyAddr = (value >>> MDIC.PHY_SHIFT) & 0x1f;
    const reg = (value >>> MDIC.REG_SHIFT) & 0x1f;
    const data = value & MDIC.DATA_MASK;
    const op = value & (MDIC.OP_READ | MDIC.OP_WRITE);
    const interrupt = (value & MDIC.INT_EN) !== 0;
    const head = (value & ~(MDIC.DATA_MASK | MDIC.READY | MDIC.ERROR)) >>> 0;
    if (phyAddr !== PHY_ADDRESS) {
      // No PHY answers: the MDIO read returns all ones and the MAC flags an error.
      this.refusals.count('mdic-no-phy-at-address');
      return { mdic: (head | MDIC.ERROR | MDIC.READY | 0xffff) >>> 0, interrupt };
    }
    if (op === MDIC.OP_READ) {
      return { mdic: (head | MDIC.READY | this.regs[reg]) >>> 0, interrupt };
    }
    if (op === MDIC.OP_WRITE) {
      this.write(reg, data);
      return { mdic: (head | MDIC.READY | data) >>> 0, interrupt };
    }
    this.refusals.count('mdic-reserved-opcode');
    return { mdic: (head | MDIC.READY | MDIC.ERROR | data) >>> 0, interrupt };
  }

  private write(reg: number, data: number): void {
    if (READ_ONLY.has(reg)) {
      this.refusals.count('phy-write-to-read-only-register');
      return;
    }
    if (reg !== PHY_REG.BMCR) {
      this.regs[reg] = data;
      return;
    }
    if (data & BMCR.RESET) {
      // A PHY reset keeps the link but returns the control registers to defaults.
      const d = defaults();
      for (const r of [PHY_REG.BMCR, PHY_REG.ANAR, PHY_REG.CTRL1000, PHY_REG.SPEC_CTRL, PHY_REG.EXT_SPEC_CTRL]) {
        this.regs[r] = d[r];
      }
      this.regs[PHY_REG.BMCR] = (data & ~(BMCR.RESET | BMCR.ANRESTART | 0x3f)) | (d[PHY_REG.BMCR] & BMCR.AUTOEN);
    } else {
      // Reset and restart are self-clearing; bits 0-5 are reserved.
      this.regs[PHY_REG.BMCR] = data & ~(BMCR.RESET | BMCR.ANRESTART | 0x3f);
    }
    this.applyLink();
  }

  setLink(up: boolean): void {
    this.link = up;
    this.applyLink();
  }

  /** Derives the status registers from the cable and the control register. */
  private applyLink(): void {
    const r = this.regs;
    if (this.link) {
      r[PHY_REG.BMSR] |= BMSR.LINK;
      if (r[PHY_REG.BMCR] & BMCR.AUTOEN) {
        r[PHY_REG.BMSR] |= BMSR.AN_COMPLETE;
        r[PHY_REG.ANLPAR] |= ANLPAR_ACK;
        r[PHY_REG.ANER] = 0x0001; // the partner is auto-negotiation able
      }
      r[PHY_REG.SPEC_STATUS] = SPEC_STATUS_LINK_UP;
    } else {
      r[PHY_REG.BMSR] &= ~(BMSR.LINK | BMSR.AN_COMPLETE);
      r[PHY_REG.ANLPAR] &= ~ANLPAR_ACK;
      r[PHY_REG.SPEC_STATUS] = SPEC_STATUS_LINK_UP & ~SPEC_STATUS_LINK_BIT;
    }
  }

  reset(): void {
    this.regs = defaults();
    this.applyLink();
  }

  save(): number[] {
    return Array.from(this.regs);
  }

  restore(regs: number[], link: boolean): void {
    this.link = link;
    if (Array.isArray(regs) && regs.length === 32) this.regs.set(regs);
    this.applyLink();
  }
}
