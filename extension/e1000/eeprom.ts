import { EECD, EERD } from './registers';
import type { Refusals } from './refusals';

export const EEPROM_WORDS = 64;
/** The 64 words must add up to this (mod 2^16); word 0x3f is chosen to make it so. */
export const EEPROM_SUM = 0xbaba;
const CHECKSUM_WORD = 0x3f;
/** Microwire start bit + READ opcode ("110"), sent before the 6 address bits. */
const OPCODE_READ = 0b110;
const COMMAND_BITS = 3 + 6;

/**
 * The contents of an 82540EM desktop adapter's EEPROM (manual section 5.6),
 * words 0-2 (the MAC) and 0x3f (the checksum) filled in at build time.
 */
function template(): Uint16Array {
  const w = new Uint16Array(EEPROM_WORDS).fill(0xffff);
  w[0x03] = 0x0000; // compatibility: none of the optional features
  w[0x04] = 0xffff; // LED configuration: hardware defaults
  w[0x05] = 0x0000; // EEPROM image version
  w[0x06] = 0x0000;
  w[0x07] = 0x0000;
  w[0x08] = 0x3000; // printed board assembly number
  w[0x09] = 0x1000;
  w[0x0a] = 0x6403; // initialization control 1: load subsystem IDs, 32-bit PCI
  w[0x0b] = 0x001e; // subsystem ID
  w[0x0c] = 0x8086; // subsystem vendor ID
  w[0x0d] = 0x100e; // device ID
  w[0x0e] = 0x8086; // vendor ID
  w[0x0f] = 0x3040; // initialization control 2: symmetric + asymmetric pause, no wake-on-LAN
  w[0x10] = 0x0008;
  w[0x11] = 0x2000;
  w[0x12] = 0x7e14;
  w[0x13] = 0x0048;
  w[0x14] = 0x1000;
  w[0x15] = 0x00d8;
  w[0x16] = 0x0000;
  w[0x17] = 0x2700;
  w[0x18] = 0x6cc9;
  w[0x19] = 0x3150;
  w[0x1a] = 0x0722;
  w[0x1b] = 0x040b;
  w[0x1c] = 0x0984;
  w[0x1d] = 0x0000;
  w[0x1e] = 0xc000;
  w[0x1f] = 0x0706;
  w[0x20] = 0x1008;
  w[0x21] = 0x0000;
  w[0x22] = 0x0f04;
  w[0x23] = 0x7fff;
  w[0x24] = 0x4d01;
  w[0x30] = 0x0100; // PXE boot agent configuration
  w[0x31] = 0x4000;
  w[0x32] = 0x121c;
  return w;
}

export function buildEepromImage(mac: Uint8Array): Uint16Array {
  const w = template();
  for (let i = 0; i < 3; i++) w[i] = (mac[2 * i] ?? 0) | ((mac[2 * i + 1] ?? 0) << 8);
  let sum = 0;
  for (let i = 0; i < CHECKSUM_WORD; i++) sum += w[i];
  w[CHECKSUM_WORD] = (EEPROM_SUM - sum) & 0xffff;
  return w;
}

export interface EepromState {
  words: number[];
  eecd: number;
  shiftIn: number;
  bitsIn: number;
  reading: boolean;
  outBit: number;
  eerd: number;
}

/**
 * The serial EEPROM behind EECD (bit-banged Microwire, what Linux uses on this
 * chip) and EERD (the register-driven read, for drivers of later parts).
 */
export class Eeprom {
  readonly words: Uint16Array;
  /** The pins as the driver last wrote them (SK, CS, DI, FWE, REQ). */
  private eecd = 0;
  private shiftIn = 0;
  private bitsIn = 0;
  private reading = false;
  /** Index of the bit on DO, counted from the MSB of word 0; advances on SK falling edges. */
  private outBit = 0;
  private eerd = 0;

  constructor(mac: Uint8Array, private readonly refusals: Refusals) {
    this.words = buildEepromImage(mac);
  }

  readEecd(): number {
    let v = this.eecd | EECD.PRES | EECD.GNT;
    if (!this.reading) {
      v |= EECD.DO; // ready/idle level of DO
    } else {
      const word = this.words[(this.outBit >>> 4) % EEPROM_WORDS];
      if ((word >>> (15 - (this.outBit & 15))) & 1) v |= EECD.DO;
    }
    return v >>> 0;
  }

  writeEecd(value: number): void {
    const old = this.eecd;
    this.eecd = value & (EECD.SK | EECD.CS | EECD.DI | EECD.FWE_MASK | EECD.REQ);
    if (!(value & EECD.CS)) return;
    if (!(old & EECD.CS)) {
      // Chip select rising edge: a new command starts.
      this.shiftIn = 0;
      this.bitsIn = 0;
      this.reading = false;
      this.outBit = 0;
    }
    if (!((value ^ old) & EECD.SK)) return;
    if (!(value & EECD.SK)) {
      this.outBit++;
      return;
    }
    // Rising clock edge: sample DI.
    this.shiftIn = ((this.shiftIn << 1) | (value & EECD.DI ? 1 : 0)) & 0xffff;
    this.bitsIn++;
    if (this.bitsIn === COMMAND_BITS && !this.reading) {
      this.reading = this.shiftIn >>> 6 === OPCODE_READ;
      // The next falling edge puts the word's MSB on DO.
      this.outBit = (this.shiftIn & 0x3f) * 16 - 1;
      if (!this.reading) this.refusals.count('eeprom-unsupported-microwire-opcode');
    }
  }

  readEerd(): number {
    return this.eerd >>> 0;
  }

  writeEerd(value: number): void {
    if (!(value & EERD.START)) {
      this.eerd = value & ~EERD.DONE;
      return;
    }
    const addr = (value >>> EERD.ADDR_SHIFT) & 0xff;
    const base = (value & 0xff00 & ~EERD.START) | (addr << EERD.ADDR_SHIFT);
    if (addr >= EEPROM_WORDS) {
      this.refusals.count('eeprom-address-beyond-64-words');
      this.eerd = (base | EERD.DONE) >>> 0;
      return;
    }
    this.eerd = ((this.words[addr] << EERD.DATA_SHIFT) | base | EERD.DONE) >>> 0;
  }

  /** The Microwire state machine idles again; the contents stay. */
  reset(): void {
    this.eecd = 0;
    this.shiftIn = 0;
    this.bitsIn = 0;
    this.reading = false;
    this.outBit = 0;
    this.eerd = 0;
  }

  save(): EepromState {
    return {
      words: Array.from(this.words),
      eecd: this.eecd,
      shiftIn: this.shiftIn,
      bitsIn: this.bitsIn,
      reading: this.reading,
      outBit: this.outBit,
      eerd: this.eerd,
    };
  }

  restore(s: EepromState): void {
    if (Array.isArray(s.words) && s.words.length === EEPROM_WORDS) this.words.set(s.words);
    this.eecd = s.eecd >>> 0;
    this.shiftIn = s.shiftIn | 0;
    this.bitsIn = s.bitsIn | 0;
    this.reading = !!s.reading;
    this.outBit = s.outBit | 0;
    this.eerd = s.eerd >>> 0;
  }
}
