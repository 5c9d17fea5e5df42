/**
 * The `launch` configuration of a Usernet debug session (launch.json), checked
 * and turned into the runtime's launch plan: the engine's start as `usernet run`
 * plans it, and what the session adds. Every refusal says which attribute is
 * wrong and what would be accepted.
 */
import type { DebugProtocol } from '@vscode/debugprotocol';
import type { NicModel } from '../machine/embedded-machine';
import { LaunchPlanError, type EngineStart } from '../machine/launch-plan';
import { planLaunchRequest } from '../machine/run-request';
import { DEFAULT_SHELL_WAIT_MS, loginNameProblem } from '../machine/shell-wait';
import type { EngineKind } from '../pipeline/stages';
import { mergeNetemSettings, parseNetemRule } from '../pipeline/netem';
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
  const timeoutMs = bootTimeoutOf(args) ?? DEFAULT_SHELL_WAIT_MS;
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

/**
 * The machine, through the same planning as `usernet run` (planRun): each
 * attribute is checked once, there; here only what JSON may get wrong (a type)
 * and what only a launch has (capture, boot timeout, the notes of this face).
 */
function planMachine(args: UsernetLaunchArguments, shell: ShellPlan): LaunchPlan {
  const engine = args.engine;
  if (engine !== undefined && engine !== 'embedded' && engine !== 'qemu') {
    throw new LaunchError(`launch attribute 'engine' must be "embedded" or "qemu" (got ${JSON.stringify(engine)})`);
  }
  const profile = str(args.profile, 'profile');
  const nic = args.nic;
  if (nic !== undefined && !NICS.includes(nic as NicModel)) throw new LaunchError(`launch attribute 'nic' must be one of ${NICS.join(', ')} (got ${JSON.stringify(nic)})`);
  const pcap = str(args.pcap, 'pcap');
  const captureFilter = str(args.captureFilter, 'captureFilter');
  const bootTimeoutMs = bootTimeoutOf(args);
  let start: EngineStart;
  try {
    start = planLaunchRequest({
      ...(engine ? { engine } : {}),
      ...(profile !== undefined ? { profile } : {}),
      ...(str(args.qemuPath, 'qemuPath') ? { qemu: args.qemuPath } : {}),
      // An empty string in launch.json is an attribute left unset.
      flags: {
        kernel: str(args.kernel, 'kernel') || undefined,
        initrd: str(args.initrd, 'initrd') || undefined,
        append: str(args.append, 'append'),
        memoryMiB: memoryOf(args, profile),
        netdev: str(args.netdev, 'netdev') || undefined,
        nic,
        mac: str(args.mac, 'mac') || undefined,
      },
      snapshot: args.snapshot === false ? 'off' : 'use',
      noReboot: noRebootOf(args),
    });
  } catch (e) {
    // planRun names an option as the CLI spells it; launch.json spells it as an attribute.
    if (e instanceof LaunchPlanError) throw new LaunchError(e.message.replace(/^--(netdev|mac): /gm, "launch attribute '$1': "));
    throw e;
  }
  const plan = { start, ...(bootTimeoutMs !== undefined ? { bootTimeoutMs } : {}), ...(start.netem ? { netem: start.netem } : {}) };
  if (start.engine === 'embedded') {
    const notes = [...start.notes, ...shellIgnored(args, EMBEDDED_NO_SHELL_WAIT)];
    for (const o of start.options.netdev?.unsupportedOptions ?? []) notes.push(`netdev option '${o}' is accepted for QEMU compatibility but not implemented`);
    if (start.options.nic !== undefined && start.options.nic !== 'e1000' && start.options.nic !== 'none') {
      notes.push(`nic '${start.options.nic}' is v86's own model: the e1000 stages (start_xmit, e1000_send_packet, ...) will not fire`);
    }
    if (captureFilter && !pcap) notes.push(`"captureFilter" is ignored without "pcap"`);
    return { ...plan, notes, ...(pcap ? { capture: { file: pcap, ...(captureFilter ? { filter: captureFilter } : {}) } } : {}) };
  }
  const notes = [...start.notes, 'engine qemu: the e1000 and the net queue are QEMU\'s, so only the slirp stages (net_slirp_receive onwards) can stop the VM'];
  if (pcap) notes.push('"pcap" captures at the net queue, which is QEMU\'s under this engine: use QEMU\'s -object filter-dump in the profile instead');
  if (start.bundledGuest) notes.push(...shellIgnored(args, 'the bundled guest is ready at its own prompt'));
  return { ...plan, notes, ...(start.bundledGuest ? {} : { shell }) };
}

/** v86 runs 16 MiB to 2 GiB; QEMU is not bounded here (a profile's engine is planRun's to find). */
function memoryOf(args: UsernetLaunchArguments, profile: string | undefined): number | undefined {
  const memory = args.memory;
  if (memory === undefined) return undefined;
  const embedded = args.engine !== 'qemu' && profile === undefined;
  if (typeof memory !== 'number' || !Number.isInteger(memory) || memory < 16 || (embedded && memory > 2048)) {
    const range = embedded ? ' from 16 to 2048' : ', at least 16';
    throw new LaunchError(`launch attribute 'memory' must be a whole number of MiB${range} (got ${JSON.stringify(memory)})`);
  }
  return memory;
}

function bootTimeoutOf(args: UsernetLaunchArguments): number | undefined {
  if (args.bootTimeoutMs === undefined) return undefined;
  if (typeof args.bootTimeoutMs !== 'number' || !(args.bootTimeoutMs > 0)) throw new LaunchError(`launch attribute 'bootTimeoutMs' must be a positive number`);
  return args.bootTimeoutMs;
}

function noRebootOf(args: UsernetLaunchArguments): boolean {
  if (args.noReboot !== undefined && typeof args.noReboot !== 'boolean') throw new LaunchError(`launch attribute 'noReboot' must be true or false`);
  return args.noReboot === true;
}
