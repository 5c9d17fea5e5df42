/**
 * Turns a ProfilePlan into the argv Usernet gives qemu-system-x86_64. QEMU keeps
 * its own NIC, but the user network becomes `-netdev stream` over a unix socket
 * to our slirp (the user suboptions are returned for it); serial and QMP go to
 * unix sockets Usernet listens on; the accelerator follows what the host offers.
 * Everything else (disks, cloud-init seeds, machine options) goes through as written.
 */
import { escapeOptionValue, parseOptionList } from '../slirp/option-list';
import { userConnections } from './network-plan';
import type { ProfilePlan, NetdevSpec, NicSpec, ParsedOption } from './plan';

export interface QemuArgvOptions {
  /** Unix socket our slirp listens on (QEMU connects as the client). */
  readonly netdevSocket: string;
  /** Unix socket QEMU listens on for the first serial port. */
  readonly serialSocket: string;
  /** Unix socket QEMU listens on for QMP. */
  readonly qmpSocket: string;
  /** /dev/kvm exists and is readable and writable by us (and QEMU did not fail with it). */
  readonly kvmUsable: boolean;
  /** Why QEMU could not use a /dev/kvm that opened (its first error line): said instead of "not usable". */
  readonly kvmFailure?: string;
  /** The binary to run when the profile names none. */
  readonly defaultProgram?: string;
}

export interface UserNetworkForSlirp {
  /** The backend name (`info usernet` shows it). */
  readonly id: string;
  /** `-netdev user` suboptions without type and id, for the slirp's parser. */
  readonly options: string;
  readonly nicModel: string;
  readonly mac?: string;
}

export interface QemuArgv {
  readonly program: string;
  readonly args: string[];
  readonly accelerator: 'kvm' | 'tcg' | string;
  readonly userNetwork?: UserNetworkForSlirp;
  /** Things the user should know (TCG is slow, an option was dropped...). */
  readonly warnings: string[];
}

export const SERIAL_CHARDEV_ID = 'ser0';

export function buildQemuArgv(plan: ProfilePlan, options: QemuArgvOptions): QemuArgv {
  const warnings: string[] = [];
  const program = plan.program && /qemu-system-/.test(plan.program) ? plan.program : options.defaultProgram ?? 'qemu-system-x86_64';

  // The accelerator: an explicit non-KVM choice is respected; KVM when the host allows it.
  const asked = plan.accel;
  const accelerator = asked !== undefined && asked !== 'kvm' ? asked : options.kvmUsable ? 'kvm' : 'tcg';
  // One message for the accelerator: the true reason, and what runs instead (-cpu host included).
  const cpuHost = accelerator !== 'kvm' && plan.options.some((o) => o.name === '-cpu' && parseOptionList(o.argument?.value ?? '')[0]?.value === 'host');
  const instead = `running under TCG emulation, which is many times slower${cpuHost ? ', with -cpu max for -cpu host (it needs KVM)' : ''}`;
  if (accelerator === 'tcg' && asked !== 'tcg') {
    const why = options.kvmFailure !== undefined
      ? `/dev/kvm opened but QEMU could not use it (${options.kvmFailure})`
      : '/dev/kvm is not usable (missing, or no read/write access: join the kvm group)';
    warnings.push(`${asked === 'kvm' ? 'KVM was asked for but ' : ''}${why}: ${instead}`);
  } else if (cpuHost) warnings.push('-cpu host needs KVM: using -cpu max under TCG');
  const overrideAccel = asked === undefined || asked === 'kvm';

  const network = plan.network;
  const connections = userConnections(plan.netdevs, plan.nics);
  const chosen = network.source === 'none' ? undefined : connections[0];
  const userNetwork: UserNetworkForSlirp | undefined = network.source === 'none' ? undefined : {
    id: network.netdevId, options: network.userOptions, nicModel: network.nicModel, ...(network.mac !== undefined ? { mac: network.mac } : {}),
  };
  const streamArgs = (id: string): string[] =>
    ['-netdev', `stream,id=${id},server=off,addr.type=unix,addr.path=${escapeOptionValue(options.netdevSocket)}`];
  const deviceArgs = (id: string, model: string, mac: string | undefined): string[] =>
    ['-device', `${model},netdev=${id}${mac !== undefined ? `,mac=${mac}` : ''}`];
  const networkArgs = (): string[] => userNetwork ? [...streamArgs(userNetwork.id), ...deviceArgs(userNetwork.id, userNetwork.nicModel, userNetwork.mac)] : [];

  // Devices plugged into a user netdev we do not run would make QEMU fail: they go too.
  const droppedNetdevs = new Set<NetdevSpec>();
  const droppedNics = new Set<NicSpec>();
  for (const netdev of plan.netdevs) {
    if (netdev.type !== 'user' || netdev === chosen?.netdev) continue;
    droppedNetdevs.add(netdev);
    for (const { nic, netdev: n } of connections) if (n === netdev) droppedNics.add(nic);
    warnings.push(`user network "${netdev.id}" is left out: Usernet runs one user-mode network (${userNetwork?.id ?? 'none here'})`);
  }
  if (network.source === 'net') {
    for (const nic of plan.nics) if (nic.form === 'net' && nic.netdev === undefined && nic !== chosen?.nic) droppedNics.add(nic);
  }

  const args: string[] = [];
  if (overrideAccel) args.push(...(accelerator === 'kvm' ? ['-enable-kvm'] : ['-accel', 'tcg']));
  if (accelerator === 'kvm' && plan.cpu === undefined) args.push('-cpu', 'host');
  args.push('-chardev', `socket,id=${SERIAL_CHARDEV_ID},path=${escapeOptionValue(options.serialSocket)},server=on,wait=off`, '-serial', `chardev:${SERIAL_CHARDEV_ID}`);

  let firstSerialReplaced = false;
  let networkPlaced = false;
  const placeNetwork = (): void => {
    if (!networkPlaced) args.push(...networkArgs());
    networkPlaced = true;
  };
  const nicOf = (option: ParsedOption): NicSpec | undefined => plan.nics.find((n) => n.range === option.range);
  const netdevOf = (option: ParsedOption): NetdevSpec | undefined => plan.netdevs.find((n) => n.word === option.argument);

  for (const option of plan.options) {
    const value = option.argument?.value;
    switch (option.name) {
      case '':
        args.push(option.word.value);
        continue;
      case '-enable-kvm':
        continue;
      case '-accel':
        if (!overrideAccel) args.push('-accel', value!);
        continue;
      case '-machine':
      case '-M':
        args.push(option.word.value, overrideAccel ? withoutItem(value!, 'accel') : value!);
        continue;
      case '-cpu':
        if (accelerator !== 'kvm' && parseOptionList(value!)[0]?.value === 'host') {
          args.push('-cpu', value!.replace(/^host/, 'max'));
        } else args.push('-cpu', value!);
        continue;
      case '-serial':
        // Our socket is COM1; a stdio console would go nowhere (no terminal is attached).
        if (!firstSerialReplaced || value === 'stdio' || value === 'mon:stdio') {
          firstSerialReplaced = true;
          continue;
        }
        args.push('-serial', value!);
        continue;
      case '-nographic':
        continue;
      case '-daemonize':
        warnings.push('-daemonize is left out: Usernet runs and watches the QEMU process');
        continue;
      case '-netdev':
      case '-net':
      case '-nic': {
        const netdev = netdevOf(option);
        const nic = nicOf(option);
        if (netdev && netdev === chosen?.netdev) {
          if (netdev.form === 'netdev') args.push(...streamArgs(netdev.id));
          else placeNetwork();
          continue;
        }
        if (nic && nic === chosen?.nic) {
          placeNetwork();
          continue;
        }
        if ((netdev && droppedNetdevs.has(netdev)) || (nic && droppedNics.has(nic))) continue;
        break;
      }
      case '-device': {
        const nic = nicOf(option);
        if (nic && droppedNics.has(nic)) continue;
        break;
      }
      default:
        break;
    }
    args.push(option.word.value, ...(option.argument ? [option.argument.value] : []));
  }
  if (network.source === 'default') placeNetwork();

  if (plan.nographic) {
    const has = (name: string): boolean => plan.options.some((o) => o.name === name);
    if (!has('-display') && !has('-vnc')) args.push('-display', 'none');
    if (!has('-monitor') && !has('-mon')) args.push('-monitor', 'none');
    if (!has('-parallel')) args.push('-parallel', 'none');
  }
  args.push('-qmp', `unix:${escapeOptionValue(options.qmpSocket)},server=on,wait=off`);
  return { program, args, accelerator, userNetwork, warnings };
}

/** An option list without one key (e.g. `q35,accel=kvm` without accel). */
function withoutItem(value: string, key: string): string {
  return parseOptionList(value).filter((item) => item.key !== key).map((item) => item.raw).join(',');
}
