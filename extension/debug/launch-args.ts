/**
 * The `launch` configuration of a Usernet debug session (launch.json), checked
 * and turned into the embedded engine's options. Every refusal says which
 * attribute is wrong and what would be accepted.
 */
import type { DebugProtocol } from '@vscode/debugprotocol';
import type { NicModel } from '../machine/embedded-machine';
import { parseMac } from '../machine/embedded-machine';
import { LaunchPlanError } from '../machine/launch-plan';
import { planLaunchRequest } from '../machine/run-request';
import { DEFAULT_SHELL_WAIT_MS, loginNameProblem } from '../machine/shell-wait';
import type { EngineKind } from '../pipeline/stages';
import { parseNetdevUser } from '../slirp/netdev-options';
import { mergeNetemSettings, parseNetemRule } from '../pipeline/netem';
import type { MachineOptions } from '../runtime/machine-port';
import type { LaunchPlan, ShellPlan } from '../runtime/runtime-types';

export interface UsernetLaunchArguments extends DebugProtocol.LaunchRequestArguments {
  engine?: EngineKind;
  kernel?: string;
  initrd?: string;
  append?: string;
  /** Guest RAM in MiB. */
  memory?: number;
  /** QEMU `-netdev user,...` syntax. */
  netdev?: string;
  nic?: 'e1000' | 'virtio' | 'ne2k';
  mac?: string;
  /** Capture every frame of the net queue to this pcap file from the start. */
  pcap?: string;
  captureFilter?: string;
  /** Restore/take the post-boot snapshot (default true). */
  snapshot?: boolean;
  /** A guest reset ends the session instead of rebooting the guest (QEMU's -no-reboot). */
  noReboot?: boolean;
  /** A launch profile (a QEMU command line); its `# usernet: engine=` comment applies unless `engine` is set. */
  profile?: string;
  /** The QEMU binary for engine 'qemu' (default: $USERNET_QEMU, else qemu-system-x86_64 from PATH). */
  qemuPath?: string;
  /** How long a cold boot may take (ms). */
  bootTimeoutMs?: number;
  /** Network conditions from the start: netem rules, `STAGE [if FILTER]: ACTIONS`. */
  conditions?: string[];
  /** The seed of every netem decision, so a run replays. */
  netemSeed?: number;
  /** A guest that is not ours is ready when the console's last line matches this regular expression. */
  prompt?: string;
  /** Typed at the guest's login prompt. */
  login?: string;
}

export class LaunchError extends Error {}

const NICS: readonly NicModel[] = ['e1000', 'virtio', 'ne2k'];
const str = (v: unknown, name: string): string | undefined => {
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'string') throw new LaunchError(`launch attribute '${name}' must be a string`);
  return v;
};

export function planLaunch(args: UsernetLaunchArguments): LaunchPlan {
  const launchNetem = planNetem(args);
  const shell = planShell(args);
  const plan = planMachine(args, shell);
  const netem = mergeNetemSettings(plan.netem, launchNetem);
  return netem ? { ...plan, netem } : plan;
}

/** `prompt` and `login`, checked whatever the engine: a typo is refused before anything boots. */
function planShell(args: UsernetLaunchArguments): ShellPlan {
  const text = str(args.prompt, 'prompt');
  let prompt: RegExp | undefined;
  try {
    if (text !== undefined) prompt = new RegExp(text);
  } catch (e) {
    throw new LaunchError(`launch attribute 'prompt' is not a regular expression: ${(e as Error).message}`);
  }
  const login = str(args.login, 'login');
  const problem = login === undefined ? undefined : loginNameProblem(login);
  if (problem) throw new LaunchError(`launch attribute 'login' ${problem}`);
  const timeoutMs = typeof args.bootTimeoutMs === 'number' && args.bootTimeoutMs > 0 ? args.bootTimeoutMs : DEFAULT_SHELL_WAIT_MS;
  return { ...(prompt ? { prompt } : {}), ...(login !== undefined ? { login } : {}), timeoutMs };
}

const EMBEDDED_NO_SHELL_WAIT = 'the embedded engine does not wait for a shell prompt (use engine "qemu" for an image of your own)';

/** Where `prompt` and `login` mean nothing (the bundled guest, the embedded engine), the user is told. */
function shellIgnored(args: UsernetLaunchArguments, why: string): string[] {
  const given = (['prompt', 'login'] as const).filter((k) => args[k] !== undefined);
  return given.length ? [`${given.map((k) => `"${k}"`).join(' and ')} ${given.length > 1 ? 'are' : 'is'} ignored: ${why}`] : [];
}

/** `conditions` and `netemSeed`: each rule checked, its error at its column. */
function planNetem(args: UsernetLaunchArguments): LaunchPlan['netem'] {
  const { conditions, netemSeed } = args;
  if (conditions === undefined && netemSeed === undefined) return undefined;
  if (conditions !== undefined && (!Array.isArray(conditions) || conditions.some((c) => typeof c !== 'string'))) {
    throw new LaunchError(`launch attribute 'conditions' must be a list of rules such as "tcp_input: loss 5%"`);
  }
  (conditions ?? []).forEach((rule, i) => {
    try {
      parseNetemRule(rule);
    } catch (e) {
      throw new LaunchError(`launch attribute 'conditions[${i}]' ("${rule}"): ${(e as Error).message}`);
    }
  });
  if (netemSeed !== undefined && (typeof netemSeed !== 'number' || !Number.isInteger(netemSeed) || netemSeed < 0 || netemSeed > 0xffffffff)) {
    throw new LaunchError(`launch attribute 'netemSeed' must be a whole number from 0 to 4294967295 (got ${JSON.stringify(netemSeed)})`);
  }
  return { rules: conditions ?? [], ...(netemSeed !== undefined ? { seed: netemSeed } : {}) };
}

function planMachine(args: UsernetLaunchArguments, shell: ShellPlan): LaunchPlan {
  const engine = args.engine ?? 'embedded';
  if (engine !== 'embedded' && engine !== 'qemu') {
    throw new LaunchError(`launch attribute 'engine' must be "embedded" or "qemu" (got ${JSON.stringify(engine)})`);
  }
  const profile = str(args.profile, 'profile');
  if (engine === 'qemu' || profile !== undefined) return planEngineLaunch(args, profile, shell);
  const notes = shellIgnored(args, EMBEDDED_NO_SHELL_WAIT);
  const machine: MachineOptions = { snapshot: args.snapshot === false ? 'off' : 'use' };
  const kernel = str(args.kernel, 'kernel');
  const initrd = str(args.initrd, 'initrd');
  const append = str(args.append, 'append');
  if (kernel) machine.kernel = kernel;
  if (initrd) machine.initrd = initrd;
  if (append !== undefined) machine.append = append;
  if (args.memory !== undefined) {
    if (typeof args.memory !== 'number' || !Number.isInteger(args.memory) || args.memory < 16 || args.memory > 2048) {
      throw new LaunchError(`launch attribute 'memory' must be a whole number of MiB from 16 to 2048 (got ${JSON.stringify(args.memory)})`);
    }
    machine.memoryMiB = args.memory;
  }
  if (args.nic !== undefined) {
    if (!NICS.includes(args.nic as NicModel)) throw new LaunchError(`launch attribute 'nic' must be one of ${NICS.join(', ')} (got ${JSON.stringify(args.nic)})`);
    machine.nic = args.nic;
    if (args.nic !== 'e1000') notes.push(`nic '${args.nic}' is v86's own model: the e1000 stages (start_xmit, e1000_send_packet, ...) will not fire`);
  }
  const mac = str(args.mac, 'mac');
  if (mac) {
    try {
      parseMac(mac);
    } catch (e) {
      throw new LaunchError(`launch attribute 'mac': ${(e as Error).message}`);
    }
    machine.mac = mac;
  }
  const netdev = str(args.netdev, 'netdev');
  if (netdev) {
    try {
      machine.netdev = parseNetdevUser(netdev);
    } catch (e) {
      throw new LaunchError(`launch attribute 'netdev': ${(e as Error).message}`);
    }
    for (const o of machine.netdev.unsupportedOptions ?? []) notes.push(`netdev option '${o}' is accepted for QEMU compatibility but not implemented`);
  }
  if (args.bootTimeoutMs !== undefined) {
    if (typeof args.bootTimeoutMs !== 'number' || !(args.bootTimeoutMs > 0)) throw new LaunchError(`launch attribute 'bootTimeoutMs' must be a positive number`);
    machine.bootTimeoutMs = args.bootTimeoutMs;
  }
  if (noRebootOf(args)) machine.noReboot = true;
  const pcap = str(args.pcap, 'pcap');
  const captureFilter = str(args.captureFilter, 'captureFilter');
  if (captureFilter && !pcap) notes.push(`"captureFilter" is ignored without "pcap"`);
  return { machine, notes, ...(pcap ? { capture: { file: pcap, ...(captureFilter ? { filter: captureFilter } : {}) } } : {}) };
}

function noRebootOf(args: UsernetLaunchArguments): boolean {
  if (args.noReboot !== undefined && typeof args.noReboot !== 'boolean') throw new LaunchError(`launch attribute 'noReboot' must be true or false`);
  return args.noReboot === true;
}

/** A profile, or engine 'qemu': the same launch planning as `usernet run`. */
function planEngineLaunch(args: UsernetLaunchArguments, profile: string | undefined, shell: ShellPlan): LaunchPlan {
  const pcap = str(args.pcap, 'pcap');
  const captureFilter = str(args.captureFilter, 'captureFilter');
  const capture = pcap ? { capture: { file: pcap, ...(captureFilter ? { filter: captureFilter } : {}) } } : {};
  const nic = args.nic;
  if (nic !== undefined && !NICS.includes(nic as NicModel)) throw new LaunchError(`launch attribute 'nic' must be one of ${NICS.join(', ')} (got ${JSON.stringify(nic)})`);
  if (args.memory !== undefined && (typeof args.memory !== 'number' || !Number.isInteger(args.memory) || args.memory < 16)) {
    throw new LaunchError(`launch attribute 'memory' must be a whole number of MiB, at least 16 (got ${JSON.stringify(args.memory)})`);
  }
  try {
    const start = planLaunchRequest({
      ...(args.engine ? { engine: args.engine } : {}),
      ...(profile !== undefined ? { profile } : {}),
      ...(str(args.qemuPath, 'qemuPath') ? { qemu: args.qemuPath } : {}),
      flags: { kernel: str(args.kernel, 'kernel'), initrd: str(args.initrd, 'initrd'), append: str(args.append, 'append'), memoryMiB: args.memory, netdev: str(args.netdev, 'netdev'), nic, mac: str(args.mac, 'mac') },
      snapshot: args.snapshot === false ? 'off' : 'use',
      noReboot: noRebootOf(args),
    });
    const bootTimeoutMs = typeof args.bootTimeoutMs === 'number' && args.bootTimeoutMs > 0 ? { bootTimeoutMs: args.bootTimeoutMs } : {};
    const netem = start.netem ? { netem: start.netem } : {};
    if (start.engine === 'embedded') {
      const notes = [...start.notes, ...shellIgnored(args, EMBEDDED_NO_SHELL_WAIT)];
      return { engine: 'embedded', machine: { ...start.options, ...bootTimeoutMs }, notes, ...capture, ...netem };
    }
    const notes = [...start.notes, 'engine qemu: the e1000 and the net queue are QEMU\'s, so only the slirp stages (net_slirp_receive onwards) can stop the VM'];
    if (pcap) notes.push('"pcap" captures at the net queue, which is QEMU\'s under this engine: use QEMU\'s -object filter-dump in the profile instead');
    if (start.bundledGuest) notes.push(...shellIgnored(args, 'the bundled guest is ready at its own prompt'));
    return { engine: 'qemu', machine: { qemu: start, ...bootTimeoutMs }, notes, ...netem, ...(start.bundledGuest ? {} : { shell }) };
  } catch (e) {
    if (e instanceof LaunchPlanError) throw new LaunchError(e.message);
    throw e;
  }
}
