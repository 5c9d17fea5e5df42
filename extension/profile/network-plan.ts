/**
 * Finds the one user-mode network a profile describes, whatever the spelling:
 * QEMU's default NIC, the legacy `-net` hub, `-netdev` + `-device`, or `-nic`.
 * The first NIC (in command-line order) whose backend is `user` wins; the
 * validator reports any further user networks.
 */
import type { NetdevSpec, NetworkPlan, NicSpec } from './plan';

export interface NetworkFacts {
  readonly netdevs: readonly NetdevSpec[];
  readonly nics: readonly NicSpec[];
  /** Any -net, -netdev or -nic: QEMU then creates no default NIC. */
  readonly networkOptionSeen: boolean;
  readonly nodefaults: boolean;
  /** `-net none` or `-nic none`. */
  readonly networkDisabled: boolean;
}

/** QEMU's default for the PC machine: `-net nic,model=e1000 -net user`. */
export const DEFAULT_NIC_MODEL = 'e1000';
export const DEFAULT_USER_NETDEV_ID = 'user.0';

export interface UserConnection {
  readonly nic: NicSpec;
  readonly netdev: NetdevSpec;
}

/** Each NIC with the user backend it reaches, in command-line order. */
export function userConnections(netdevs: readonly NetdevSpec[], nics: readonly NicSpec[]): UserConnection[] {
  const connections: UserConnection[] = [];
  const hubUser = netdevs.find((n) => n.form === 'net' && n.type === 'user');
  for (const nic of nics) {
    let netdev: NetdevSpec | undefined;
    if (nic.form === 'net' && nic.netdev === undefined) netdev = hubUser;
    else if (nic.form === 'nic') netdev = netdevs.find((n) => n.form === 'nic' && n.id === nic.netdev);
    else if (nic.netdev !== undefined) netdev = netdevs.find((n) => n.form === 'netdev' && n.id === nic.netdev);
    if (netdev && netdev.type === 'user') connections.push({ nic, netdev });
  }
  return connections;
}

export function normalizeNetwork(facts: NetworkFacts): NetworkPlan {
  const [first] = userConnections(facts.netdevs, facts.nics);
  if (first) {
    const source = first.nic.form === 'device' ? 'netdev' : first.nic.form;
    return {
      source: source === 'net' && first.netdev.form === 'netdev' ? 'netdev' : source,
      nicModel: first.nic.model,
      ...(first.nic.mac !== undefined ? { mac: first.nic.mac } : {}),
      netdevId: first.netdev.id,
      userOptions: first.netdev.options,
    };
  }
  if (!facts.networkOptionSeen && !facts.nodefaults) {
    return { source: 'default', nicModel: DEFAULT_NIC_MODEL, netdevId: DEFAULT_USER_NETDEV_ID, userOptions: '' };
  }
  return { source: 'none' };
}
