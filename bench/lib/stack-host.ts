/**
 * TcpStack wired to a benchmark guest: real time (PausableClock), the real NAT
 * table, probes disarmed (as in normal use), and segments for the guest
 * dispatched by destination port to the LeanGuest that owns it.
 */
import { PausableClock } from '../../extension/pipeline/clock';
import { ProbeHub } from '../../extension/pipeline/probe';
import { DEFAULT_SLIRP_CONFIG, ip4 } from '../../extension/slirp/config';
import { allocateFrame, TRANSPORT_OFFSET } from '../../extension/slirp/core';
import { NatTable } from '../../extension/slirp/nat';
import type { TcpHost } from '../../extension/slirp/tcp-contract';
import { TcpStack, type TcpLimits } from '../../extension/slirp/tcp/tcp-stack';
import { LeanGuest, type LeanGuestOptions } from './lean-guest';

export const GUEST_IP = ip4(10, 0, 2, 15);
export const GATEWAY_IP = ip4(10, 0, 2, 2);

export class StackBench {
  readonly clock = new PausableClock();
  readonly probes = new ProbeHub();
  readonly nat = new NatTable(8192);
  readonly stack: TcpStack;
  private readonly guests = new Map<number, LeanGuest>();
  private nextPort = 20000;
  /** Segments the stack sent to a port no guest owns. */
  strays = 0;

  constructor(limits?: Partial<TcpLimits>) {
    const config = DEFAULT_SLIRP_CONFIG;
    const host: TcpHost = {
      config,
      clock: this.clock,
      probes: this.probes,
      nat: this.nat,
      // As the slirp does: segments are built in place in slab-cut frames, after room for the headers.
      headroom: TRANSPORT_OFFSET,
      allocateFrame,
      ipOutput: (_src, _dst, protocol, frame) => {
        if (protocol !== 6 || frame.length < TRANSPORT_OFFSET + 20) return;
        const g = this.guests.get((frame[TRANSPORT_OFFSET + 2]! << 8) | frame[TRANSPORT_OFFSET + 3]!);
        if (g) g.deliver(frame, TRANSPORT_OFFSET);
        else this.strays++;
      },
      hostAddressFor: (dst) => (dst === config.host ? '127.0.0.1' : null),
      guestAddress: () => GUEST_IP,
    };
    this.stack = new TcpStack(host, limits);
  }

  /** A new guest connection to 10.0.2.2:`port` (the host's 127.0.0.1:`port`), not yet connected. */
  guest(port: number, opts: Partial<LeanGuestOptions> & { mss: number }): LeanGuest {
    const srcPort = this.nextPort++;
    if (this.nextPort > 65000) this.nextPort = 20000;
    const g = new LeanGuest((s, d, seg) => this.stack.input(s, d, seg), { src: GUEST_IP, dst: GATEWAY_IP, srcPort, dstPort: port, ...opts });
    this.guests.set(srcPort, g);
    return g;
  }

  forget(g: LeanGuest): void {
    this.guests.delete(g.o.srcPort);
  }

  close(): void {
    this.stack.close();
  }
}
