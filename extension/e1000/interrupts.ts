import type { NicBus } from './bus';
import type { Clock, TimerHandle } from '../pipeline/clock';
import type { Probe } from '../pipeline/probe';
import { ICR_VALID_MASK, REG } from './registers';

/** ITR counts in 256 ns units; RDTR, RADV, TIDV and TADV in 1024 ns units. Clock time is in ms. */
export const ITR_UNIT_MS = 256e-6;
export const DELAY_UNIT_MS = 1024e-6;

export interface InterruptState {
  icr: number;
  ims: number;
  level: boolean;
  /** ms since the line was last asserted, or null if never (relative, so it survives a new clock). */
  sinceAssert: number | null;
  rx: DelayState;
  tx: DelayState;
}

export interface DelayState {
  /** ms left on the relative (packet) and absolute timers, null when not running. */
  rel: number | null;
  abs: number | null;
}

/**
 * A cause delayed by a relative timer that restarts on every event (RDTR,
 * TIDV) and capped by an absolute one started by the first event (RADV, TADV):
 * whichever expires first raises the cause and stops both.
 */
export class DelayedCause {
  private rel: { handle: TimerHandle; due: number } | undefined;
  private abs: { handle: TimerHandle; due: number } | undefined;

  constructor(private readonly clock: Clock, private readonly fire: () => void) {}

  get pending(): boolean {
    return this.rel !== undefined || this.abs !== undefined;
  }

  /** An event (a packet written back). Delays in ms; a zero relative delay means at once. */
  event(relMs: number, absMs: number): void {
    if (relMs <= 0) {
      this.flush();
      return;
    }
    if (this.rel) this.clock.clearTimeout(this.rel.handle);
    this.rel = this.arm(relMs);
    if (absMs > 0 && !this.abs) this.abs = this.arm(absMs);
  }

  /** Raises the cause now if it is waiting (RDTR.FPD, or a timer expiring). */
  flush(): void {
    this.cancel();
    this.fire();
  }

  cancel(): void {
    if (this.rel) this.clock.clearTimeout(this.rel.handle);
    if (this.abs) this.clock.clearTimeout(this.abs.handle);
    this.rel = this.abs = undefined;
  }

  private arm(ms: number): { handle: TimerHandle; due: number } {
    return { handle: this.clock.setTimeout(() => this.flush(), ms), due: this.clock.now() + ms };
  }

  save(): DelayState {
    const now = this.clock.now();
    return {
      rel: this.rel ? Math.max(0, this.rel.due - now) : null,
      abs: this.abs ? Math.max(0, this.abs.due - now) : null,
    };
  }

  restore(s: DelayState | undefined): void {
    this.cancel();
    if (!s) return;
    if (typeof s.rel === 'number') this.rel = this.arm(s.rel);
    if (typeof s.abs === 'number') this.abs = this.arm(s.abs);
  }
}

/**
 * ICR/IMS and the interrupt line. The line is (ICR & IMS) != 0, except that a
 * rising edge waits until ITR has elapsed since the previous one.
 *
 * When the line rises, causes still waiting on their delay timers (TIDV/TADV,
 * RDTR/RADV) are reported with it. The delays exist to save interrupts, and
 * this one is taken anyway; QEMU's e1000 likewise sets TXDW at once and delays
 * only the line. Otherwise the host's timers, which cannot wait less than a
 * millisecond, turn Linux's 8 us TIDV into a second interrupt a millisecond
 * after the first: a ping's echo request completed on the TX ring would
 * interrupt the guest again while it handles the reply.
 */
export class InterruptController {
  icr = 0;
  ims = 0;
  level = false;
  /** Line assertions and cause bits raised, for stats. */
  asserted = 0;
  private lastAssert: number | undefined;
  private throttle: TimerHandle | undefined;
  /** Causes on delay timers, reported when the line rises (set once by the NIC). */
  delayed: readonly DelayedCause[] = [];

  constructor(
    private readonly bus: NicBus,
    private readonly clock: Clock,
    private readonly regs: Uint32Array,
    private readonly probe: Probe,
  ) {}

  /** set_ics: raise cause bits (interrupt causes and ICS writes both land here). */
  raise(bits: number): void {
    bits &= ICR_VALID_MASK;
    if (bits === 0) return;
    const p = this.probe;
    if (p.enter()) {
      const hit = { stage: p.stage, frame: new Uint8Array(0), register: { offset: REG.ICR, value: bits, write: true } };
      // On resume the cause passes the probe once more (which lets it through) and lands.
      const resume = (): void => {
        p.fire(hit);
        this.raiseNow(bits);
      };
      if (p.fire(hit, resume)) return;
    }
    this.raiseNow(bits);
  }

  private raiseNow(bits: number): void {
    this.icr = (this.icr | bits) >>> 0;
    this.update();
  }

  /** ICR reads clear it (and so lower the line). */
  readIcr(): number {
    const v = this.icr;
    this.icr = 0;
    this.update();
    return v;
  }

  /** Writing ones to ICR clears those causes. */
  writeIcr(value: number): void {
    this.icr = (this.icr & ~value) >>> 0;
    this.update();
  }

  writeIms(value: number): void {
    this.ims = (this.ims | (value & ICR_VALID_MASK)) >>> 0;
    this.update();
  }

  writeImc(value: number): void {
    this.ims = (this.ims & ~value) >>> 0;
    this.update();
  }

  update(): void {
    const pending = (this.icr & this.ims) !== 0;
    if (pending && !this.level) {
      if (this.throttle) return;
      const interval = (this.regs[REG.ITR >>> 2] & 0xffff) * ITR_UNIT_MS;
      const now = this.clock.now();
      if (interval > 0 && this.lastAssert !== undefined && now < this.lastAssert + interval) {
        this.throttle = this.clock.setTimeout(() => {
          this.throttle = undefined;
          this.update();
        }, this.lastAssert + interval - now);
        return;
      }
      for (const d of this.delayed) {
        // Through raise(), so the set_ics probe sees them; the line may rise in there.
        if (d.pending) d.flush();
      }
      if (this.level) return;
      this.level = true;
      this.lastAssert = now;
      this.asserted++;
      this.bus.setIrq(true);
    } else if (!pending && this.level) {
      this.level = false;
      this.bus.setIrq(false);
    }
  }

  reset(): void {
    if (this.throttle) this.clock.clearTimeout(this.throttle);
    this.throttle = undefined;
    this.icr = 0;
    this.ims = 0;
    this.lastAssert = undefined;
    if (this.level) {
      this.level = false;
      this.bus.setIrq(false);
    }
  }

  save(): Pick<InterruptState, 'icr' | 'ims' | 'level' | 'sinceAssert'> {
    return {
      icr: this.icr,
      ims: this.ims,
      level: this.level,
      sinceAssert: this.lastAssert === undefined ? null : this.clock.now() - this.lastAssert,
    };
  }

  restore(s: Pick<InterruptState, 'icr' | 'ims' | 'level' | 'sinceAssert'>): void {
    if (this.throttle) this.clock.clearTimeout(this.throttle);
    this.throttle = undefined;
    this.icr = (s.icr >>> 0) & ICR_VALID_MASK;
    this.ims = (s.ims >>> 0) & ICR_VALID_MASK;
    this.lastAssert = typeof s.sinceAssert === 'number' ? this.clock.now() - s.sinceAssert : undefined;
    // Drive the line to what the restored registers say, whatever it was before.
    this.level = (this.icr & this.ims) !== 0;
    this.bus.setIrq(this.level);
  }
}
