import { ProbeHub } from '../../../../extension/pipeline/probe';
import { DEFAULT_SLIRP_CONFIG, type SlirpConfig } from '../../../../extension/slirp/config';
import { Slirp, type SlirpOptions } from '../../../../extension/slirp/slirp';
import { unavailablePingSockets } from '../../../../extension/slirp/ping-socket';
import type { HostForward } from '../../../../extension/slirp/config';
import type { TcpLayer } from '../../../../extension/slirp/tcp-contract';
import { EthernetView } from '../../../../extension/wire/ethernet';
import { Ipv4View } from '../../../../extension/wire/ipv4';
import { UdpView } from '../../../../extension/wire/udp';
import { ManualClock } from './manual-clock';
import { GUEST_MAC } from './frames';

/** Records what the slirp hands to TCP. */
export class RecordingTcp implements TcpLayer {
  readonly segments: { src: number; dst: number; length: number }[] = [];
  paused = false;
  input(src: number, dst: number, segment: Uint8Array): void {
    this.segments.push({ src, dst, length: segment.length });
  }
  pause(): void {
    this.paused = true;
  }
  resume(): void {
    this.paused = false;
  }
  async addHostForward(_rule: HostForward): Promise<void> {}
  removeHostForward(): boolean {
    return false;
  }
  close(): void {}
}

export interface Guest {
  readonly slirp: Slirp;
  readonly clock: ManualClock;
  readonly probes: ProbeHub;
  readonly tcp: RecordingTcp;
  /** Frames the slirp sent to the guest, oldest first. */
  readonly out: Uint8Array[];
  readonly logs: string[];
  /** Waits until a frame matching `pred` arrives (real sockets answer asynchronously). */
  waitFor(pred: (f: Uint8Array) => boolean, ms?: number): Promise<Uint8Array>;
}

export function makeGuest(config: Partial<SlirpConfig> = {}, opts: Partial<SlirpOptions> = {}): Guest {
  const clock = new ManualClock();
  const probes = new ProbeHub();
  const tcp = new RecordingTcp();
  const out: Uint8Array[] = [];
  const logs: string[] = [];
  const waiters: { pred: (f: Uint8Array) => boolean; resolve: (f: Uint8Array) => void }[] = [];
  const slirp = new Slirp({
    config: { ...DEFAULT_SLIRP_CONFIG, ...config },
    clock,
    probes,
    guestMac: GUEST_MAC,
    resolvConfPath: '/nonexistent/resolv.conf',
    log: (m) => logs.push(m),
    tcp: () => tcp,
    // Echo forwarding opens real ping sockets only in the tests that ask for them (icmp-echo.test.ts).
    pingSockets: unavailablePingSockets('this test gives no ping sockets'),
    output: (f) => {
      const copy = f.slice();
      out.push(copy);
      for (const w of [...waiters]) {
        if (w.pred(copy)) {
          waiters.splice(waiters.indexOf(w), 1);
          w.resolve(copy);
        }
      }
    },
    ...opts,
  });
  const waitFor = (pred: (f: Uint8Array) => boolean, ms = 2000) => {
    const found = out.find(pred);
    if (found) return Promise.resolve(found);
    return new Promise<Uint8Array>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('no matching frame from slirp')), ms);
      waiters.push({
        pred,
        resolve: (f) => {
          clearTimeout(timer);
          resolve(f);
        },
      });
    });
  };
  return { slirp, clock, probes, tcp, out, logs, waitFor };
}

/** The IPv4 view of a frame the slirp produced (asserting it is well formed). */
export function ipOf(frame: Uint8Array): Ipv4View {
  const eth = EthernetView.of(frame);
  if (!eth || eth.etherType !== 0x0800) throw new Error('not an IPv4 frame');
  const ip = Ipv4View.check(frame.subarray(14));
  if (typeof ip === 'string') throw new Error(`slirp sent a bad IPv4 datagram: ${ip}`);
  return ip;
}

export function udpOf(frame: Uint8Array): UdpView {
  const ip = ipOf(frame);
  const u = UdpView.check(ip.payload, ip.source, ip.destination);
  if (typeof u === 'string') throw new Error(`slirp sent a bad UDP datagram: ${u}`);
  return u;
}

export function isUdpTo(port: number) {
  return (f: Uint8Array): boolean => {
    if (f.length < 42 || f[12] !== 8 || f[13] !== 0 || f[23] !== 17) return false;
    const hl = (f[14]! & 15) * 4;
    return ((f[14 + hl + 2]! << 8) | f[14 + hl + 3]!) === port;
  };
}

export function isIcmp(f: Uint8Array): boolean {
  return f.length >= 42 && f[12] === 8 && f[13] === 0 && f[23] === 1;
}
