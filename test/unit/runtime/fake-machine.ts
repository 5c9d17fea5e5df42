/**
 * A VM without a CPU for the debug runtime's tests: real probes, clock and NAT
 * table; frames are pushed through the probes stage by stage the way the NIC
 * and slirp call them (a held packet resumes by re-entering its stage).
 */
import { PausableClock } from '../../../extension/pipeline/clock';
import { ProbeHub, type ProbeHit } from '../../../extension/pipeline/probe';
import type { StageName } from '../../../extension/pipeline/stages';
import type { MachineFactory, RuntimeMachine, RuntimeSlirp } from '../../../extension/runtime/machine-port';
import type { EngineStart } from '../../../extension/machine/launch-plan';
import type { LaunchPlan } from '../../../extension/runtime/runtime-types';
import { NatTable, type NatSession } from '../../../extension/slirp/nat';
import { ip4 } from '../../../extension/slirp/config';
import { SerialConsole } from '../../../extension/machine/serial-console';

export class FakeMachine implements RuntimeMachine {
  readonly probes = new ProbeHub();
  readonly clock = new PausableClock();
  readonly nat = new NatTable();
  readonly ownNic = true;
  readonly bootMs = 1234;
  readonly restored = false;
  paused = false;
  stopped = false;
  leasedAddress: number | undefined;
  readonly serialIn: Uint8Array[] = [];
  readonly forwards: string[] = [];
  /** Frames that made it through all their stages. */
  readonly delivered: { frame: Uint8Array; stages: StageName[] }[] = [];
  private serialListeners: ((c: Uint8Array) => void)[] = [];
  private exitListeners: (() => void)[] = [];
  readonly slirp: RuntimeSlirp;
  private toConsole: (byte: number) => void = () => {};
  /** The console a wait for the guest's shell reads: what printSerial prints; what it types lands in serialIn. */
  readonly console = new SerialConsole({ send: (b) => this.serialIn.push(b), onByte: (fn) => (this.toConsole = fn) });

  /** `network`: the slirp's host= and dns= (10.0.2.2 and 10.0.2.3 unless given). */
  constructor(network = { host: ip4(10, 0, 2, 2), dns: ip4(10, 0, 2, 3) }) {
    const self = this;
    this.slirp = {
      nat: this.nat,
      config: network,
      get leasedAddress() {
        return self.leasedAddress;
      },
      addHostForward: async (spec) => {
        if (spec.includes(':2222-')) throw new Error('port 2222 is in use: choose another hostfwd port');
        this.forwards.push(spec);
      },
      removeHostForward: (rule) => this.forwards.length > 0 && rule.hostPort > 0,
      infoUsernet: () => this.nat.infoUsernet('user.0', this.clock.now()),
    };
  }

  async pause() {
    this.paused = true;
    this.clock.pause();
  }
  async resume() {
    this.paused = false;
    this.clock.resume();
  }
  async stop() {
    this.stopped = true;
    for (const l of this.exitListeners) l();
  }
  writeSerial(bytes: Uint8Array) {
    this.serialIn.push(bytes);
  }
  /** The runtime's serial listener, given at start like the real engines take it. */
  onSerial(listener: ((c: Uint8Array) => void) | undefined) {
    if (listener) this.serialListeners.push(listener);
  }
  onExit(listener: () => void) {
    this.exitListeners.push(listener);
  }

  printSerial(text: string) {
    for (const l of this.serialListeners) l(Buffer.from(text));
    Buffer.from(text, 'latin1').forEach((b) => this.toConsole(b));
  }

  /** Runs `frame` through `stages` in order, as the pipeline's functions would. */
  send(frame: Uint8Array, stages: readonly StageName[], extra: Partial<ProbeHit> = {}): void {
    const run = (i: number): void => {
      if (i === stages.length) {
        this.delivered.push({ frame, stages: [...stages] });
        return;
      }
      const p = this.probes.probes[stages[i]!];
      if (p.enter(frame) && p.fire({ ...extra, stage: p.stage, frame }, () => run(i))) return;
      run(i + 1);
    };
    run(0);
  }

  addSession(id: number, over: Partial<NatSession> = {}): NatSession {
    const s: NatSession = {
      id, protocol: 'udp', state: 'ACTIVE', guestAddr: ip4(10, 0, 2, 15), guestPort: 40000, remoteAddr: ip4(10, 0, 2, 2), remotePort: 9999,
      hostLocalAddr: '127.0.0.1', hostLocalPort: 50000, hostPeerAddr: '127.0.0.1', hostPeerPort: 9999, inbound: false,
      createdAt: this.clock.now(), lastActivity: this.clock.now(), expiresAt: this.clock.now() + 240_000, recvQ: 0, sendQ: 0, fd: -1,
      bytesOut: 0, packetsOut: 0, bytesIn: 0, packetsIn: 0,
      close: () => this.nat.remove(s),
      ...over,
    };
    this.nat.add(s);
    return s;
  }
}

/** The TDT write that sends a frame, up to the net queue: the start of every transmit's route. */
const NIC_TX: readonly StageName[] = ['e1000_mmio_write', 'start_xmit', 'process_tx_desc', 'e1000_send_packet'];
export const TX_UDP: readonly StageName[] = [...NIC_TX, 'qemu_send_packet', 'net_slirp_receive', 'slirp_input', 'ip_input', 'udp_input', 'sosendto'];
export const TX_DHCP: readonly StageName[] = [...NIC_TX, 'qemu_send_packet', 'net_slirp_receive', 'slirp_input', 'ip_input', 'udp_input', 'bootp_input'];

export function fakeFactory(machine: FakeMachine): MachineFactory & { calls: number } {
  const f = Object.assign(async (_start: EngineStart, hooks: Parameters<MachineFactory>[1] = {}) => {
    f.calls++;
    machine.onSerial(hooks.onSerial);
    return machine;
  }, { calls: 0 });
  return f;
}

/** A launch of the bundled guest under the embedded engine (the fake factory boots nothing). */
export const EMBEDDED_START: EngineStart = { engine: 'embedded', options: {}, notes: [] };

/** A launch under QEMU, as far as the runtime looks at it (the fake factory starts nothing). */
export const QEMU_START: EngineStart = {
  engine: 'qemu', program: 'qemu-system-x86_64', cwd: '/', slirp: undefined, bundledGuest: true, notes: [],
  buildArgs: () => ({ args: [], warnings: [] }),
};

export function launchPlan(extra: Partial<LaunchPlan> = {}): LaunchPlan {
  return { start: EMBEDDED_START, notes: [], ...extra };
}
