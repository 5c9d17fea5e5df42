/**
 * Starts the engine a launch plan chose and gives both the same face: a
 * serial console, our slirp, the probes, exec/stop, and a promise that
 * settles with a report if the VM dies on its own (QEMU crashing or killed).
 */
import type { Clock } from '../pipeline/clock';
import type { ProbeHub } from '../pipeline/probe';
import type { Slirp } from '../slirp/slirp';
import { EmbeddedMachine, type GuestEnd } from './embedded-machine';
import type { EngineKind } from '../pipeline/stages';
import type { EngineStart, QemuStart } from './launch-plan';
import { qemuGuestEnd } from './qemu-exit';
import { QemuMachine, type QemuOptions } from './qemu-machine';
import type { ExecResult, SerialConsole } from './serial-console';

export interface RunningMachine {
  readonly engine: EngineKind;
  readonly serial: SerialConsole;
  readonly slirp: Slirp | undefined;
  readonly probes: ProbeHub;
  readonly clock: Clock;
  /** Milliseconds from start to ready (the bundled guest's prompt). */
  readonly bootMs: number;
  /** How it came up: "restored from snapshot", "cold boot", "QEMU, TCG"... */
  readonly bootNote: string;
  /** Runs a command in the guest's shell; `onOutput` streams its output as it comes. */
  exec(command: string, timeoutMs?: number, onOutput?: (text: string) => void): Promise<ExecResult>;
  pause(): Promise<void>;
  resume(): Promise<void>;
  stop(): Promise<void>;
  /** Settles when the VM goes away without stop() (the guest powered off, reset under no-reboot, or the engine failed); never otherwise. */
  readonly died: Promise<GuestEnd>;
  /** The engine object itself, for engine-specific extras (QMP status...). */
  readonly machine: EmbeddedMachine | QemuMachine;
}

export interface EngineHooks {
  onProgress?: (message: string) => void;
  onLog?: (message: string) => void;
  /** Force or forbid KVM under QEMU (default: when /dev/kvm is usable). */
  kvm?: boolean;
  /** Shared with a debugger under QEMU. */
  probes?: ProbeHub;
}

export async function startEngine(start: EngineStart, hooks: EngineHooks = {}): Promise<RunningMachine> {
  if (start.engine === 'embedded') {
    const vm = await EmbeddedMachine.start({ ...start.options, onProgress: hooks.onProgress, onLog: hooks.onLog });
    return {
      engine: 'embedded',
      serial: vm.serial,
      get slirp() {
        return vm.slirp;
      },
      probes: vm.probes,
      clock: vm.clock,
      bootMs: vm.bootInfo.ms,
      bootNote: vm.bootInfo.restored ? 'restored from snapshot' : 'cold boot',
      exec: (command, timeoutMs, onOutput) => vm.exec(command, timeoutMs, onOutput),
      pause: () => vm.pause(),
      resume: () => vm.resume(),
      stop: () => vm.stop(),
      died: new Promise<GuestEnd>((resolve) => (vm.end ? resolve(vm.end) : vm.once('ended', resolve))),
      machine: vm,
    };
  }
  const vm = await startQemu(start, { kvm: hooks.kvm, probes: hooks.probes, onProgress: hooks.onProgress, onLog: hooks.onLog });
  return {
    engine: 'qemu',
    serial: vm.serial,
    get slirp() {
      return vm.slirp;
    },
    probes: vm.probes,
    clock: vm.clock,
    bootMs: vm.bootInfo.ms,
    bootNote: `QEMU, ${vm.bootInfo.accelerator === 'kvm' ? 'KVM' : 'TCG'}`,
    exec: (command, timeoutMs, onOutput) => vm.exec(command, timeoutMs, onOutput),
    pause: () => vm.pause(),
    resume: () => vm.resume(),
    stop: () => vm.stop(),
    died: vm.died.then((report) => qemuGuestEnd(report, vm.shutdownReason)),
    machine: vm,
  };
}

/** What a QEMU start may add to the plan's: hooks, and overrides of its choices. */
export type QemuStartHooks = Partial<Pick<QemuOptions, 'kvm' | 'probes' | 'onProgress' | 'onLog' | 'onSerial' | 'bootTimeoutMs'>>;

/** QEMU as a launch plan says (program, folder, our slirp, its arguments), its argument warnings logged. */
export function startQemu(start: QemuStart, hooks: QemuStartHooks = {}): Promise<QemuMachine> {
  const log = hooks.onLog ?? (() => {});
  return QemuMachine.start({
    ...hooks,
    qemuPath: start.program,
    cwd: start.cwd,
    slirp: start.slirp,
    waitForPrompt: start.bundledGuest,
    kvm: hooks.kvm ?? start.kvm,
    onLog: log,
    buildArgs: (sockets, accel) => {
      const { args, warnings } = start.buildArgs(sockets, accel);
      for (const w of warnings) log(w);
      return args;
    },
  });
}
