/**
 * libslirp's so_expire for the flows of a datagram protocol (UDP over IPv4 and
 * IPv6, echo flows): each use moves its NAT session's expiry on, and a sweep
 * once a second while any flow is open closes those past it. The sweep runs on
 * the VM's clock, which stands still while the VM is paused: nothing expires then.
 */
import type { Clock, TimerHandle } from '../pipeline/clock';
import type { NatSession, NatTable } from './nat';

const SWEEP_MS = 1000;

export interface ExpiringFlow {
  readonly session: NatSession;
}

export class FlowExpiry<F extends ExpiringFlow> {
  private timer: TimerHandle | undefined;
  private stopped = false;

  /**
   * @param flows the open flows, looked at on each sweep
   * @param expire closes a flow past its expiry (and takes it out of `flows`)
   */
  constructor(
    private readonly clock: Clock,
    private readonly nat: NatTable,
    private readonly flows: () => Iterable<F>,
    private readonly expire: (flow: F) => void,
  ) {}

  /** `flow` was used now: it lives `lifetimeMs` more (the NAT view hears of it). */
  touch(flow: F, lifetimeMs: number): void {
    const s = flow.session;
    const now = this.clock.now();
    s.lastActivity = now;
    s.expiresAt = now + lifetimeMs;
    this.nat.changed(s);
    this.arm();
  }

  /** Closes the flows past their expiry now. */
  sweep(): void {
    const now = this.clock.now();
    for (const flow of [...this.flows()]) if ((flow.session.expiresAt ?? 0) <= now) this.expire(flow);
  }

  /** No more sweeps (the stack closes). */
  stop(): void {
    this.stopped = true;
    if (this.timer) this.clock.clearTimeout(this.timer);
    this.timer = undefined;
  }

  /** A flow was opened: sweeps run while any is. */
  arm(): void {
    if (this.timer || this.stopped) return;
    this.timer = this.clock.setTimeout(() => {
      this.timer = undefined;
      this.sweep();
      for (const _ of this.flows()) return this.arm();
    }, SWEEP_MS);
  }
}
