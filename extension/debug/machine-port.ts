/**
 * What the debug runtime needs of a running VM, so that it can be driven by
 * the embedded engine in the adapter and by a small fake in unit tests.
 */
import { EmbeddedMachine, type EmbeddedOptions } from '../machine/embedded-machine';
import type { Clock } from '../pipeline/clock';
import type { ProbeHub } from '../pipeline/probe';
import type { HostForward } from '../slirp/config';
import type { NatTable } from '../slirp/nat';

export interface RuntimeSlirp {
  readonly nat: NatTable;
  /** The guest's DHCP lease, once it has one. */
  readonly leasedAddress: number | undefined;
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
  onSerial(listener: (chunk: Uint8Array) => void): void;
  /** The VM went away on its own (not through stop()). */
  onExit(listener: () => void): void;
}

export type MachineFactory = (options: EmbeddedOptions) => Promise<RuntimeMachine>;

export const startEmbeddedMachine: MachineFactory = async (options) => {
  const vm = await EmbeddedMachine.start(options);
  const slirp = vm.slirp;
  return {
    probes: vm.probes,
    clock: vm.clock,
    slirp: slirp && {
      nat: slirp.nat,
      get leasedAddress() {
        return slirp.dhcp.acknowledgedAddress;
      },
      addHostForward: (spec) => slirp.addHostForward(spec),
      removeHostForward: (rule) => slirp.removeHostForward(rule),
      infoUsernet: () => slirp.infoUsernet(),
    },
    ownNic: vm.nic !== undefined,
    bootMs: vm.bootInfo.ms,
    restored: vm.bootInfo.restored,
    pause: () => vm.pause(),
    resume: () => vm.resume(),
    stop: () => vm.stop(),
    writeSerial: (bytes) => vm.serial.write(bytes),
    onSerial: (listener) => vm.serial.on('data', listener),
    onExit: (listener) => vm.on('exit', listener),
  };
};
