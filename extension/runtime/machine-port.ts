/**
 * What the debug runtime needs of a running VM, so that it can be driven by
 * the embedded engine in the adapter and by a small fake in unit tests.
 */
import { EmbeddedMachine } from '../machine/embedded-machine';
import { startQemu } from '../machine/engine-start';
import type { EmbeddedStart, EngineStart, QemuStart } from '../machine/launch-plan';
import type { ShellConsole } from '../machine/shell-wait';
import { describeQemuExit, qemuGuestEnd } from '../machine/qemu-exit';
import type { Clock } from '../pipeline/clock';
import type { ProbeHub } from '../pipeline/probe';
import type { HostForward, SlirpConfig } from '../slirp/config';
import type { NatTable } from '../slirp/nat';
import type { LinkCounters, Slirp } from '../slirp/slirp';

export interface RuntimeSlirp {
  readonly nat: NatTable;
  /** Where the gateway and the DNS server are (host=, dns=, host byte order). */
  readonly config: { readonly host: number; readonly dns: number };
  /** The guest's DHCP lease, once it has one. */
  readonly leasedAddress: number | undefined;
  /** What the topology view draws: the whole -netdev configuration, the guest's MAC, the link's counters. */
  readonly settings?: SlirpConfig;
  readonly guestMac?: Uint8Array | undefined;
  readonly link?: Readonly<LinkCounters>;
  addHostForward(spec: string): Promise<void>;
  removeHostForward(rule: Pick<HostForward, 'protocol' | 'hostAddr' | 'hostPort'>): boolean;
  infoUsernet(): string;
}

export interface RuntimeMachine {
  readonly probes: ProbeHub;
  readonly clock: Clock;
  readonly slirp: RuntimeSlirp | undefined;
  /** Whether our e1000 model is the NIC. */
  readonly ownNic: boolean;
  readonly bootMs: number;
  readonly restored: boolean;
  pause(): Promise<void>;
  resume(): Promise<void>;
  stop(): Promise<void>;
  writeSerial(bytes: Uint8Array): void;
  /** The guest's serial console, read to tell when a guest that is not ours shows its shell. */
  readonly console?: ShellConsole;
  /** The VM went away on its own (not through stop()), with the reason when one is known. */
  onExit(listener: (reason?: string) => void): void;
}

/** What the runtime adds to a launch plan's engine start: where boot progress and serial output go, how long a boot may take. */
export interface MachineHooks {
  readonly onProgress?: (message: string) => void;
  readonly onSerial?: (chunk: Uint8Array) => void;
  readonly bootTimeoutMs?: number;
}

export type MachineFactory = (start: EngineStart, hooks?: MachineHooks) => Promise<RuntimeMachine>;

/** Starts the engine the launch plan chose. */
export const startMachine: MachineFactory = (start, hooks = {}) => (start.engine === 'qemu' ? startQemuMachine(start, hooks) : startEmbeddedMachine(start, hooks));

function runtimeSlirp(slirp: Slirp | undefined): RuntimeSlirp | undefined {
  return slirp && {
    nat: slirp.nat,
    config: slirp.config,
    get leasedAddress() {
      return slirp.dhcp.acknowledgedAddress;
    },
    settings: slirp.config,
    get guestMac() {
      return slirp.guestMac;
    },
    link: slirp.link,
    addHostForward: (spec) => slirp.addHostForward(spec),
    removeHostForward: (rule) => slirp.removeHostForward(rule),
    infoUsernet: () => slirp.infoUsernet(),
  };
}

/**
 * QEMU runs the guest and the NIC; our slirp is its network backend. Pausing is
 * QMP `stop` plus the slirp's pause (its timers and host sockets); only slirp
 * stages fire, since the e1000 and the net queue are QEMU's.
 */
async function startQemuMachine(start: QemuStart, hooks: MachineHooks): Promise<RuntimeMachine> {
  const vm = await startQemu(start, {
    onProgress: hooks.onProgress,
    ...(hooks.onSerial ? { onSerial: hooks.onSerial } : {}),
    ...(hooks.bootTimeoutMs !== undefined ? { bootTimeoutMs: hooks.bootTimeoutMs } : {}),
  });
  return {
    probes: vm.probes,
    clock: vm.clock,
    slirp: runtimeSlirp(vm.slirp),
    ownNic: false,
    bootMs: vm.bootInfo.ms,
    restored: false,
    pause: () => vm.pause(),
    resume: () => vm.resume(),
    stop: () => vm.stop(),
    writeSerial: (bytes) => vm.serial.write(bytes),
    console: vm.serial,
    onExit: (listener) => vm.on('exit', (exit) => {
      if (!exit.requested) listener(qemuGuestEnd(describeQemuExit(start.program, exit), vm.shutdownReason).message);
    }),
  };
}

/** What `usernet run` has of the VM it started, under either engine. */
export interface StartedVm {
  readonly probes: ProbeHub;
  readonly clock: Clock;
  readonly slirp?: Slirp | undefined;
  pause(): Promise<void>;
  resume(): Promise<void>;
}

/**
 * A VM the CLI started, as the runtime drives it for the breakpoint prompt. The
 * CLI keeps its life (it stops the VM, reports its end, owns the console), so
 * stop, exit and serial input are not the runtime's here.
 */
export function adoptedMachine(vm: StartedVm, ownNic: boolean): RuntimeMachine {
  return {
    probes: vm.probes,
    clock: vm.clock,
    slirp: runtimeSlirp(vm.slirp),
    ownNic,
    bootMs: 0,
    restored: false,
    pause: () => vm.pause(),
    resume: () => vm.resume(),
    stop: async () => {},
    writeSerial: () => {},
    onExit: () => {},
  };
}

async function startEmbeddedMachine(start: EmbeddedStart, hooks: MachineHooks): Promise<RuntimeMachine> {
  const vm = await EmbeddedMachine.start({ ...start.options, ...hooks });
  return {
    probes: vm.probes,
    clock: vm.clock,
    slirp: runtimeSlirp(vm.slirp),
    ownNic: vm.nic !== undefined,
    bootMs: vm.bootInfo.ms,
    restored: vm.bootInfo.restored,
    pause: () => vm.pause(),
    resume: () => vm.resume(),
    stop: () => vm.stop(),
    writeSerial: (bytes) => vm.serial.write(bytes),
    onExit: (listener) => vm.on('exit', () => listener(vm.end?.message)),
  };
}
