/**
 * From what the user gave (a `.qemu` profile, QEMU arguments after `--`, or
 * the CLI's own machine options) to one engine's start: which engine, with
 * what. Pure: no process is started and nothing is read here beyond what the
 * caller's `fileExists` answers, so every decision and message is testable.
 *
 * Engine choice: --engine, else the profile's `# usernet: engine=...`, else
 * embedded. The embedded engine runs the subset it can (kernel, initrd,
 * append, memory, one user network on an e1000) and names the rest.
 */
import { resolve } from 'node:path';
import { buildQemuArgv, diagnose, findEngineDirective, findNetemDirectives, parseProfile, resolveProfilePath, type ProfilePlan, type ProfileDiagnostic } from '../profile';
import { forBundledGuest, type SlirpConfig } from '../slirp/config';
import { parseNetdevUser } from '../slirp/netdev-options';
import { parseMac, type EmbeddedOptions, type NicModel } from './embedded-machine';
import { argvToProfileText, wordIndexAt } from './argv-text';
import type { QemuAccel, QemuSockets } from './qemu-machine';
import type { EngineKind } from '../pipeline/stages';
import type { NetemSettings } from '../pipeline/netem';

/** The CLI's own machine options (`usernet run --kernel ... -m ... --netdev ...`). */
export interface MachineFlags {
  kernel?: string;
  initrd?: string;
  append?: string;
  memoryMiB?: number;
  /** QEMU -netdev user syntax, with or without the leading `user`. */
  netdev?: string;
  nic?: NicModel;
  mac?: string;
}

export interface RunRequest {
  engine?: EngineKind;
  profile?: { file: string; text: string };
  /** QEMU arguments given after `--`. */
  qemuArgs?: readonly string[];
  flags?: MachineFlags;
  snapshot?: 'use' | 'off';
  /** A guest reset ends the run (QEMU's -no-reboot), whatever form the machine was given in. */
  noReboot?: boolean;
  /** Embedded engine: a cold boot silent on the console this long ends the run (0: never). */
  silenceLimitS?: number;
  /** --qemu PATH, then $USERNET_QEMU, then the profile's program, then qemu-system-x86_64. */
  qemuPath?: string;
  envQemu?: string;
  cwd: string;
  homeDir?: string;
  fileExists: (absolutePath: string) => boolean;
  /** The bundled guest's files. */
  bundled: { bzImage: string; initrd: string };
}

export interface EmbeddedStart {
  readonly engine: 'embedded';
  readonly options: EmbeddedOptions;
  /** Warnings to show (with their location). */
  readonly notes: string[];
  /** The profile's `# usernet: netem=` conditions, for the run to impose from the start. */
  readonly netem?: NetemSettings;
}

export interface QemuStart {
  readonly engine: 'qemu';
  readonly program: string;
  /** QEMU's working directory: the profile's folder, so its relative paths mean what they say. */
  readonly cwd: string;
  /** Our slirp's configuration; undefined when the guest has no user network. */
  readonly slirp: SlirpConfig | undefined;
  /** The bundled guest: its shell prompt tells when it is ready. */
  readonly bundledGuest: boolean;
  /** False when the profile chose another accelerator (-accel tcg): then KVM is not tried. */
  readonly kvm?: false;
  /** QEMU's argv (without the program) for our sockets and accelerator. */
  buildArgs(sockets: QemuSockets, accel: QemuAccel): { args: string[]; warnings: string[] };
  readonly notes: string[];
  readonly netem?: NetemSettings;
}

export type EngineStart = EmbeddedStart | QemuStart;

/** What went wrong, one problem per line, each with its location. */
export class LaunchPlanError extends Error {
  constructor(readonly problems: string[]) {
    super(problems.join('\n'));
  }
}

/** The bundled guest's command line under QEMU (the embedded engine adds tsc=reliable for v86). */
export const QEMU_BUNDLED_APPEND = 'console=ttyS0 quiet';
const DEFAULT_MEMORY_MIB = 128;
const QEMU_NIC_MODELS: Record<Exclude<NicModel, 'none'>, string> = { e1000: 'e1000', virtio: 'virtio-net-pci', ne2k: 'ne2k_pci' };
/** Options that give QEMU something to boot besides -kernel and disks. */
const BOOT_SOURCES = new Set(['-bios', '-pflash', '-fda', '-fdb', '-blockdev', '-mtdblock', '-sd', '-incoming', '-loadvm']);

export function planRun(request: RunRequest): EngineStart {
  const req: RunRequest = { ...request, bundled: { bzImage: resolve(request.cwd, request.bundled.bzImage), initrd: resolve(request.cwd, request.bundled.initrd) } };
  const flagsGiven = req.flags && Object.values(req.flags).some((v) => v !== undefined);
  if (req.profile && req.qemuArgs?.length) throw new LaunchPlanError(['give either --profile FILE or QEMU arguments after --, not both']);
  if (flagsGiven && (req.profile || req.qemuArgs?.length)) {
    const what = req.profile ? 'the profile' : 'the QEMU arguments';
    throw new LaunchPlanError([`machine options (--kernel, --initrd, --append, -m, --netdev, --nic, --mac) do not mix with ${what}: write them there in QEMU syntax`]);
  }
  return withPowerOptions(planMachine(req), req);
}

function planMachine(req: RunRequest): EngineStart {
  if (req.profile) return planFromText(req, req.profile.text, { kind: 'profile', file: req.profile.file });
  if (req.qemuArgs?.length) return planFromText(req, argvToProfileText(req.qemuArgs), { kind: 'argv', words: req.qemuArgs });
  const engine = req.engine ?? 'embedded';
  if (engine === 'embedded') return embeddedFromFlags(req.flags ?? {}, req.snapshot);
  const words = qemuWordsFromFlags(req.flags ?? {}, req.bundled);
  return planFromText(req, argvToProfileText(words), { kind: 'options', words });
}

/** --no-reboot and the console-silence limit, which apply to any form of machine. */
function withPowerOptions(start: EngineStart, req: RunRequest): EngineStart {
  if (start.engine === 'embedded') {
    const options = { ...start.options };
    if (req.noReboot) options.noReboot = true;
    if (req.silenceLimitS !== undefined) options.silenceLimitS = req.silenceLimitS;
    return { ...start, options };
  }
  if (!req.noReboot) return start;
  return {
    ...start,
    buildArgs: (sockets, accel) => {
      const built = start.buildArgs(sockets, accel);
      return built.args.includes('-no-reboot') ? built : { ...built, args: [...built.args, '-no-reboot'] };
    },
  };
}

type Origin = { kind: 'profile'; file: string } | { kind: 'argv' | 'options'; words: readonly string[] };

function planFromText(req: RunRequest, text: string, origin: Origin): EngineStart {
  const { plan, lex } = parseProfile(text);
  const directive = findEngineDirective(lex);
  const engine: EngineKind = req.engine ?? directive?.engine ?? 'embedded';
  const baseDir = origin.kind === 'profile' ? resolve(req.cwd, origin.file, '..') : req.cwd;
  const diagnostics = diagnose(text, { engine, fileExists: req.fileExists, baseDir, homeDir: req.homeDir });
  const where = (d: ProfileDiagnostic): string => locate(d, origin, text);
  const errors: string[] = [];
  const notes: string[] = [];
  for (const d of diagnostics) {
    // The embedded engine cannot run what it names as unsupported: for a run, that is an error.
    const fatal = d.severity === 1 || (engine === 'embedded' && d.code === 'engine-unsupported');
    const message = d.message.replace('(use engine: qemu)', "(use --engine qemu, or '# usernet: engine=qemu' in a profile)");
    if (fatal) errors.push(`${where(d)}: error: ${message}`);
    else if (d.severity === 2) notes.push(`${where(d)}: warning: ${message}`);
  }
  if (errors.length) throw new LaunchPlanError(errors);

  const resolvePath = (p: string | undefined): string | undefined => (p === undefined ? undefined : resolveProfilePath(p, baseDir, req.homeDir) ?? p);
  const start = engine === 'embedded' ? embeddedFromPlan(plan, resolvePath, req, notes) : qemuFromPlan(req, text, plan, baseDir, resolvePath, notes);
  // Bad rules were errors above: what is left parses.
  const { rules, seed } = findNetemDirectives(lex);
  return rules.length || seed !== undefined ? { ...start, netem: { rules, ...(seed !== undefined ? { seed } : {}) } } : start;
}

function embeddedFromPlan(plan: ProfilePlan, resolvePath: (p: string | undefined) => string | undefined, req: RunRequest, notes: string[]): EmbeddedStart {
  const options: EmbeddedOptions = { snapshot: req.snapshot ?? 'use' };
  let kernel = resolvePath(plan.kernel);
  let initrd = resolvePath(plan.initrd);
  // The bundled guest named by path is still the bundled guest (its snapshot applies).
  if (kernel === req.bundled.bzImage && (initrd === undefined || initrd === req.bundled.initrd)) {
    kernel = undefined;
    initrd = undefined;
  }
  if (kernel) options.kernel = kernel;
  if (initrd) options.initrd = initrd;
  if (plan.append !== undefined) options.append = plan.append;
  if (plan.memoryMiB !== undefined) options.memoryMiB = plan.memoryMiB;
  if (plan.options.some((o) => o.name === '-no-reboot')) options.noReboot = true;
  const network = plan.network;
  if (network.source === 'none') options.nic = 'none';
  else {
    options.nic = 'e1000';
    if (network.mac) options.mac = network.mac;
    options.netdev = slirpConfigOf(network.netdevId, network.userOptions);
  }
  return { engine: 'embedded', options, notes };
}

function qemuFromPlan(req: RunRequest, text: string, parsed: ProfilePlan, cwd: string, resolvePath: (p: string | undefined) => string | undefined, notes: string[]): QemuStart {
  let plan = parsed;
  const bootable = plan.kernel !== undefined || plan.drives.length > 0 || plan.options.some((o) => BOOT_SOURCES.has(o.name));
  if (!bootable) {
    // Nothing to boot: the bundled guest, as under the embedded engine.
    const extra = ['-kernel', req.bundled.bzImage, '-initrd', req.bundled.initrd];
    if (plan.append === undefined) extra.push('-append', QEMU_BUNDLED_APPEND);
    plan = parseProfile(`${text}\n${argvToProfileText(extra)}`).plan;
    notes.push('no kernel or disk image given: booting the bundled guest');
  }
  const network = plan.network;
  const program = req.qemuPath ?? req.envQemu ?? plan.program ?? 'qemu-system-x86_64';
  const kernel = resolvePath(plan.kernel);
  const bundledGuest = kernel === req.bundled.bzImage && resolvePath(plan.initrd) === req.bundled.initrd;
  const netdev = network.source === 'none' ? undefined : slirpConfigOf(network.netdevId, network.userOptions);
  const slirp = netdev && bundledGuest ? forBundledGuest(netdev) : netdev;
  const hasDisplayChoice = plan.nographic || plan.options.some((o) => o.name === '-display' || o.name === '-vnc' || o.name === '-spice');
  return {
    engine: 'qemu',
    program,
    cwd,
    slirp,
    bundledGuest,
    ...(plan.accel !== undefined && plan.accel !== 'kvm' ? { kvm: false as const } : {}),
    notes,
    buildArgs: (sockets, accel) => {
      const argv = buildQemuArgv(plan, { netdevSocket: sockets.net, serialSocket: sockets.serial, qmpSocket: sockets.qmp, kvmUsable: accel.kvm, kvmFailure: accel.kvmFailure, defaultProgram: program });
      // No window: Usernet shows the serial console (QEMU would otherwise look for a display).
      const args = hasDisplayChoice ? argv.args : [...argv.args, '-display', 'none'];
      return { args, warnings: argv.warnings };
    },
  };
}

function slirpConfigOf(id: string, userOptions: string): SlirpConfig {
  try {
    return parseNetdevUser(['user', `id=${id}`, ...(userOptions ? [userOptions] : [])].join(','));
  } catch (e) {
    throw new LaunchPlanError([`-netdev user: ${(e as Error).message}`]);
  }
}

function embeddedFromFlags(flags: MachineFlags, snapshot: 'use' | 'off' | undefined): EmbeddedStart {
  const options: EmbeddedOptions = { snapshot: snapshot ?? 'use', nic: flags.nic ?? 'e1000' };
  if (flags.kernel !== undefined) options.kernel = flags.kernel;
  if (flags.initrd !== undefined) options.initrd = flags.initrd;
  if (flags.append !== undefined) options.append = flags.append;
  if (flags.memoryMiB !== undefined) options.memoryMiB = flags.memoryMiB;
  if (flags.mac !== undefined) {
    try {
      parseMac(flags.mac);
    } catch (e) {
      throw new LaunchPlanError([`--mac: ${(e as Error).message}`]);
    }
    options.mac = flags.mac;
  }
  if (flags.netdev !== undefined) {
    try {
      options.netdev = parseNetdevUser(flags.netdev);
    } catch (e) {
      throw new LaunchPlanError([`--netdev: ${(e as Error).message}`]);
    }
  }
  return { engine: 'embedded', options, notes: [] };
}

/** The CLI's machine options as QEMU arguments (the bundled guest unless --kernel). */
export function qemuWordsFromFlags(flags: MachineFlags, bundled: { bzImage: string; initrd: string }): string[] {
  const words = ['-kernel', flags.kernel ?? bundled.bzImage];
  const initrd = flags.initrd ?? (flags.kernel === undefined ? bundled.initrd : undefined);
  if (initrd !== undefined) words.push('-initrd', initrd);
  words.push('-append', flags.append ?? QEMU_BUNDLED_APPEND, '-m', String(flags.memoryMiB ?? DEFAULT_MEMORY_MIB));
  const nic = flags.nic ?? 'e1000';
  if (nic === 'none') words.push('-nic', 'none');
  else {
    const items = (flags.netdev ?? 'user').split(',').filter((item) => item !== '' && !item.startsWith('id='));
    if (items[0] && items[0] !== 'user' && !items[0].includes('=')) {
      throw new LaunchPlanError([`--netdev: '${items[0]}' is not a user-mode network: Usernet's slirp is QEMU's -netdev user`]);
    }
    const options = items[0] === 'user' ? items.slice(1) : items;
    words.push('-netdev', ['user', 'id=net0', ...options].join(','));
    words.push('-device', `${QEMU_NIC_MODELS[nic]},netdev=net0${flags.mac ? `,mac=${flags.mac}` : ''}`);
  }
  words.push('-nographic');
  return words;
}

/** `file:line:col` for a profile; the argument's position and text for argv. */
function locate(d: ProfileDiagnostic, origin: Origin, text: string): string {
  if (origin.kind === 'profile') return `${origin.file}:${d.range.start.line + 1}:${d.range.start.character + 1}`;
  const index = wordIndexAt(text, d.range.start.character);
  const word = origin.words[index];
  if (word === undefined) return origin.kind === 'argv' ? 'QEMU arguments' : 'machine options';
  return origin.kind === 'argv' ? `QEMU argument ${index + 1} '${word}'` : `machine option '${word}'`;
}
