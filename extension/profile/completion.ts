/**
 * Completion for profiles: option names, the suboptions of -netdev/-nic/-net/
 * -drive/-device, and their values. Headless; the language server maps the
 * entries onto LSP CompletionItems.
 */
import { lexProfile } from './lexer';
import { cursorContext } from './cursor-context';
import { completeDirective } from './directive-completion';
import { NETDEV_TYPES, NETDEV_USER_SUBOPTIONS, NIC_MODELS, OPTION_CATALOG, isNicDriver } from './option-catalog';
import { parseOptionList, type OptionItem } from '../slirp/option-list';
import type { CompletionEntry } from './completion-entry';

export type { CompletionEntry } from './completion-entry';

type Choice = { name: string; summary?: string };

const ON_OFF: Choice[] = [{ name: 'on' }, { name: 'off' }];
const DRIVE_KEYS: Choice[] = [
  { name: 'file', summary: 'The disk image (relative to the profile\'s folder).' },
  { name: 'if', summary: 'Interface: ide, virtio, scsi, sd, floppy, pflash, none.' },
  { name: 'format', summary: 'Image format: raw, qcow2... (avoids format probing).' },
  { name: 'media', summary: 'disk or cdrom.' },
  { name: 'index', summary: 'Position on the interface (0 = first disk).' },
  { name: 'readonly', summary: 'Attach read-only.' },
  { name: 'snapshot', summary: 'Discard writes when QEMU exits.' },
  { name: 'cache', summary: 'Host cache mode: writeback, none, writethrough, directsync, unsafe.' },
  { name: 'id', summary: 'Name for -device ...,drive=ID (with if=none).' },
];
const DRIVE_VALUES: Record<string, Choice[]> = {
  if: ['ide', 'virtio', 'scsi', 'sd', 'floppy', 'pflash', 'mtd', 'none'].map((name) => ({ name })),
  media: [{ name: 'disk' }, { name: 'cdrom' }],
  format: ['raw', 'qcow2', 'vmdk', 'vdi', 'vhdx', 'qed'].map((name) => ({ name })),
  readonly: ON_OFF,
  snapshot: ON_OFF,
  cache: ['writeback', 'none', 'writethrough', 'directsync', 'unsafe'].map((name) => ({ name })),
};
const OTHER_DEVICES: Choice[] = [
  { name: 'virtio-blk-pci', summary: 'virtio disk (with -drive if=none,id=...).' },
  { name: 'virtio-rng-pci', summary: 'virtio entropy source.' },
  { name: 'virtio-serial-pci', summary: 'virtio serial bus.' },
  { name: 'usb-tablet', summary: 'USB tablet (absolute pointer).' },
  { name: 'qemu-xhci', summary: 'USB 3 controller.' },
];
const NIC_KEYS: Choice[] = [
  { name: 'netdev', summary: 'The -netdev id this NIC is plugged into.' },
  { name: 'mac', summary: 'The NIC\'s MAC address (default 52:54:00:12:34:56).' },
];
const SIMPLE_VALUES: Record<string, Choice[]> = {
  '-accel': [
    { name: 'kvm', summary: 'Hardware virtualization (needs /dev/kvm).' },
    { name: 'tcg', summary: 'Emulation; works everywhere, slower.' },
  ],
  '-cpu': [
    { name: 'host', summary: 'The host CPU model with all its features (KVM only).' },
    { name: 'max', summary: 'Every feature the accelerator supports (use under TCG).' },
    { name: 'qemu64', summary: 'QEMU\'s default x86-64 model.' },
    { name: 'qemu32', summary: 'QEMU\'s default i386 model.' },
  ],
  '-serial': [
    { name: 'stdio', summary: 'The terminal (Usernet\'s console).' },
    { name: 'mon:stdio', summary: 'The terminal, multiplexed with the monitor (Ctrl-A C).' },
    { name: 'pty', summary: 'A new pseudo-terminal.' },
    { name: 'null', summary: 'Discard output.' },
    { name: 'file:', summary: 'Write output to a file.' },
    { name: 'unix:', summary: 'A unix socket.' },
  ],
  '-m': ['512', '1G', '2G', '4G'].map((name) => ({ name, summary: 'guest RAM' })),
  '-smp': ['1', '2', '4'].map((name) => ({ name, summary: 'virtual CPUs' })),
  '-machine': [{ name: 'pc', summary: 'i440FX PC (QEMU\'s default)' }, { name: 'q35', summary: 'Q35 chipset with PCIe' }],
};
const USER_VALUES: Record<string, Choice[]> = {
  ipv4: ON_OFF,
  ipv6: ON_OFF,
  restrict: ON_OFF,
  'disable-host-loopback': ON_OFF,
  hostfwd: [
    { name: 'tcp::2222-:22', summary: 'host port 2222 to the guest\'s SSH' },
    { name: 'tcp::8080-:80', summary: 'host port 8080 to the guest\'s port 80' },
    { name: 'udp::5353-:53', summary: 'a UDP port' },
  ],
  guestfwd: [{ name: 'tcp:10.0.2.100:80-tcp:127.0.0.1:8080', summary: 'guest connections to 10.0.2.100:80 go to host port 8080' }],
  net: [{ name: '10.0.2.0/24', summary: 'QEMU\'s default' }],
  dhcpstart: [{ name: '10.0.2.15', summary: 'QEMU\'s default' }],
};

export function completeProfile(text: string, offset: number, context: { netdevIds?: readonly string[] } = {}): CompletionEntry[] {
  const lex = lexProfile(text);
  const directive = completeDirective(lex, offset);
  if (directive) return directive;
  const ctx = cursorContext(lex, offset);
  if (!ctx || ctx.kind === 'program') return [];
  if (ctx.kind === 'option') {
    if (ctx.prefix !== '' && !ctx.prefix.startsWith('-')) return [];
    return OPTION_CATALOG
      .filter((o) => o.name.startsWith(ctx.prefix.replace(/^--/, '-')))
      .map((o) => ({
        label: o.name, kind: 'option' as const, detail: o.argument ? `${o.name} ${o.argument}` : o.name,
        documentation: o.notes ? `${o.summary}\n\n${o.notes}` : o.summary, insertText: o.name,
        replaceStart: ctx.replaceStart, replaceEnd: offset,
      }));
  }

  const ids = context.netdevIds ?? netdevIdsIn(text);
  const entries = (choices: readonly Choice[], kind: CompletionEntry['kind'], suffix = ''): CompletionEntry[] =>
    choices
      .filter((c) => c.name.startsWith(valuePart(ctx.itemText, kind)))
      .map((c) => ({
        label: c.name + suffix, kind, detail: c.summary, documentation: c.summary, insertText: c.name + suffix,
        replaceStart: kind === 'value' && ctx.itemText.includes('=') ? offset - valuePart(ctx.itemText, kind).length : ctx.itemStart,
        replaceEnd: offset,
      }));
  const first = ctx.previousItems.length === 0;
  const head = ctx.previousItems[0];
  const headValue = head && head.key === '' ? head.value : undefined;
  const keyOf = (item: string): string | undefined => (item.includes('=') ? item.slice(0, item.indexOf('=')) : undefined);
  const typingKey = keyOf(ctx.itemText);
  const userSuboptions = NETDEV_USER_SUBOPTIONS.map((s) => ({ name: s.name, summary: `${s.name}=${s.value}: ${s.summary}` }));
  const used = new Set(ctx.previousItems.map((i: OptionItem) => i.key));
  const fresh = (choices: Choice[]): Choice[] => choices.filter((c) => !used.has(c.name) || ['hostfwd', 'guestfwd', 'dnssearch'].includes(c.name));

  switch (ctx.option) {
    case '-netdev':
    case '-nic':
    case '-net': {
      if (first && typingKey === undefined) {
        const kinds: Choice[] = ctx.option === '-net'
          ? [{ name: 'nic', summary: 'a NIC on the hub' }, { name: 'user', summary: 'user-mode networking (Usernet\'s slirp)' }, { name: 'none', summary: 'no default NIC' }]
          : NETDEV_TYPES.map((name) => ({ name, summary: name === 'user' ? 'user-mode networking (Usernet\'s slirp)' : undefined }));
        if (ctx.option === '-nic') kinds.push({ name: 'none', summary: 'no network' });
        return entries(kinds, 'value');
      }
      const nicKeys: Choice[] = ctx.option === '-nic'
        ? [{ name: 'model', summary: 'The NIC model (default e1000).' }, { name: 'mac', summary: 'The NIC\'s MAC address.' }]
        : ctx.option === '-net' && headValue === 'nic'
          ? [{ name: 'model', summary: 'The NIC model (default e1000).' }, { name: 'macaddr', summary: 'The NIC\'s MAC address.' }, { name: 'netdev', summary: 'Plug into this -netdev instead of the hub.' }]
          : [];
      if (typingKey !== undefined) {
        if (typingKey === 'model') return entries(NIC_MODELS, 'value');
        if (typingKey === 'netdev') return entries(ids.map((name) => ({ name })), 'value');
        return entries(USER_VALUES[typingKey] ?? [], 'value');
      }
      if (ctx.option === '-net' && headValue === 'nic') return entries(fresh(nicKeys), 'suboption', '=');
      if (headValue !== 'user') return [];
      return entries(fresh([...nicKeys, ...userSuboptions.filter((s) => s.name !== 'id' || ctx.option === '-netdev')]), 'suboption', '=');
    }
    case '-drive':
      if (typingKey !== undefined) return entries(DRIVE_VALUES[typingKey] ?? [], 'value');
      return entries(fresh(DRIVE_KEYS), 'suboption', '=');
    case '-device':
      if (first && typingKey === undefined) return entries([...NIC_MODELS, ...OTHER_DEVICES], 'value');
      if (!headValue || !isNicDriver(headValue)) return [];
      if (typingKey === 'netdev') return entries(ids.map((name) => ({ name })), 'value');
      if (typingKey !== undefined) return [];
      return entries(fresh(NIC_KEYS), 'suboption', '=');
    default: {
      const choices = SIMPLE_VALUES[ctx.option];
      if (!choices) return [];
      if (ctx.option === '-machine' && !first && typingKey === undefined) return entries([{ name: 'accel', summary: 'kvm or tcg' }], 'suboption', '=');
      if (ctx.option === '-machine' && typingKey === 'accel') return entries(SIMPLE_VALUES['-accel'], 'value');
      return first ? entries(choices, 'value') : [];
    }
  }
}

/** The text the user has typed that the entry must match: the value after `=`, else the item. */
function valuePart(itemText: string, kind: CompletionEntry['kind']): string {
  if (kind === 'value' && itemText.includes('=')) return itemText.slice(itemText.indexOf('=') + 1);
  return itemText;
}

/** Ids of every `-netdev TYPE,id=ID` in the text, for `netdev=` completion. */
export function netdevIdsIn(text: string): string[] {
  const lex = lexProfile(text);
  const ids: string[] = [];
  lex.words.forEach((w, i) => {
    const next = lex.words[i + 1];
    if ((w.value === '-netdev' || w.value === '--netdev') && next) {
      const id = parseOptionList(next.value).find((item) => item.key === 'id')?.value;
      if (id) ids.push(id);
    }
  });
  return ids;
}
