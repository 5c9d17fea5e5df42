/**
 * The QEMU command-line options a profile may use: whether each takes an
 * argument (so parsing can step over values of options we do not interpret),
 * and what it does, for completion and hover. Options missing here are unknown
 * to QEMU itself ("invalid option").
 */
export interface OptionInfo {
  readonly name: string;
  readonly takesArgument: boolean;
  /** Argument placeholder as QEMU's help prints it. */
  readonly argument?: string;
  /** One line: what QEMU does with it. */
  readonly summary: string;
  /** Practical notes shown on hover. */
  readonly notes?: string;
  /** Interpreted by the profile parser (the rest passes through to QEMU). */
  readonly understood?: boolean;
}

const understood = (name: string, argument: string | undefined, summary: string, notes?: string): OptionInfo =>
  ({ name, takesArgument: argument !== undefined, argument, summary, notes, understood: true });
const passthrough = (name: string, argument: string | undefined, summary: string): OptionInfo =>
  ({ name, takesArgument: argument !== undefined, argument, summary });

export const OPTION_CATALOG: readonly OptionInfo[] = [
  understood('-enable-kvm', undefined, 'Enable KVM full virtualization (same as `-accel kvm`).',
    'KVM needs read/write access to /dev/kvm (usually membership of the `kvm` group). With it the guest runs at near-native speed; without it QEMU falls back to TCG emulation, many times slower.'),
  understood('-accel', 'name[,prop=value[,...]]', 'Select the accelerator: kvm, tcg, hvf, whpx or xen.',
    '`kvm` needs /dev/kvm; `tcg` is pure emulation and works everywhere, more slowly.'),
  understood('-cpu', 'model', 'Select the CPU model (`-cpu help` lists them).',
    '`-cpu host` passes the host CPU model and all its features to the guest; it requires KVM. Under TCG use `-cpu max` instead.'),
  understood('-m', '[size=]megs[,slots=n,maxmem=size]', 'Set the guest RAM size: a number of MiB, or with a suffix K, M, G, T.',
    '`-m` sets guest RAM; `-m 512` is 512 MiB, `-m 1G` is 1 GiB. QEMU\'s default is 128 MiB, too little for most cloud images.'),
  understood('-smp', '[cpus=]n[,sockets=..,cores=..,threads=..]', 'Set the number of virtual CPUs.'),
  understood('-nographic', undefined, 'Disable graphical output; serial and monitor go to the terminal.',
    'With `-nographic` there is no display: the serial port is on stdio (multiplexed with the monitor, Ctrl-A C switches). The guest must use a serial console (`console=ttyS0`). Usernet shows that serial console in its terminal.'),
  understood('-serial', 'dev', 'Redirect the next serial port (COM1, then COM2...) to a character device: stdio, mon:stdio, pty, file:PATH, unix:PATH, tcp:..., null, none.'),
  understood('-hda', 'file', 'Use file as hard disk 0 (first IDE disk).',
    '`-hda` is shorthand for `-drive file=FILE,index=0,media=disk` on the IDE bus; the format is probed (prefer `-drive ...,format=` to be explicit).'),
  understood('-hdb', 'file', 'Use file as hard disk 1 (second IDE disk).'),
  understood('-hdc', 'file', 'Use file as hard disk 2.'),
  understood('-hdd', 'file', 'Use file as hard disk 3.'),
  understood('-cdrom', 'file', 'Use file as the CD-ROM image (IDE index 2).'),
  understood('-drive', 'file=file[,if=type][,format=f][,media=d][,index=i][,...]', 'Define a block device (a disk image attached to the guest).',
    '`-drive file=IMG` attaches a disk image; `if=` picks the interface (ide, virtio, scsi, none...), `format=` (raw, qcow2...) avoids probing. For a cloud image a second drive carries the cloud-init seed (e.g. `-drive file=seed.img,format=raw,if=virtio`).'),
  understood('-kernel', 'bzImage', 'Boot this Linux kernel directly (no bootloader).'),
  understood('-initrd', 'file', 'Use file as the initial RAM disk (with -kernel).'),
  understood('-append', 'cmdline', 'The kernel command line (with -kernel), e.g. "console=ttyS0".'),
  understood('-name', 'string', 'Set the guest name (window title, process name).'),
  understood('-netdev', 'type,id=str[,...]', 'Create a network backend (user, tap, bridge, socket, stream...) to connect a NIC to with -device.',
    'Usernet runs `-netdev user` itself: its TypeScript slirp is the backend, with QEMU\'s options (hostfwd, guestfwd, net, dhcpstart, dns...).'),
  understood('-net', 'nic[,...]|user[,...]|none', 'Legacy networking: `-net nic` adds a NIC, `-net user` a user-mode backend on the same hub; `-net none` disables the default NIC.'),
  understood('-nic', 'type[,model=..][,mac=..][,...]', 'Shorthand for a backend plus a NIC: `-nic user,model=e1000,hostfwd=...`; `-nic none` disables networking.'),
  understood('-device', 'driver[,prop=value[,...]]', 'Add a device: a NIC such as e1000 or virtio-net-pci (netdev=ID connects it to a -netdev), or any other QEMU device.'),
  understood('-nodefaults', undefined, 'Create no default devices (no default NIC, serial, monitor, display adapter).'),
  understood('-daemonize', undefined, 'Detach QEMU from the terminal after start-up.'),
  understood('-machine', '[type=]name[,prop=value[,...]]', 'Select the machine type (pc, q35...) and its properties.'),
  understood('-M', 'name', 'Select the machine type (same as -machine).'),

  passthrough('-boot', '[order=drives][,once=drives][,menu=on|off]', 'Boot order (c = first hard disk, d = CD-ROM, n = network).'),
  passthrough('-bios', 'file', 'Use file as the BIOS.'),
  passthrough('-pflash', 'file', 'Use file as a parallel flash image (UEFI firmware).'),
  passthrough('-fda', 'file', 'Use file as floppy disk 0.'),
  passthrough('-fdb', 'file', 'Use file as floppy disk 1.'),
  passthrough('-blockdev', 'option[,...]', 'Define a block node (the modern, explicit -drive).'),
  passthrough('-snapshot', undefined, 'Write to temporary files instead of disk images.'),
  passthrough('-vga', 'type', 'Select the video card (std, cirrus, virtio, none...).'),
  passthrough('-display', 'type[,...]', 'Select the display backend (gtk, sdl, vnc, none...).'),
  passthrough('-vnc', 'display', 'Start a VNC server on display.'),
  passthrough('-spice', 'option[,...]', 'Enable the SPICE remote display.'),
  passthrough('-monitor', 'dev', 'Redirect the HMP monitor to a character device.'),
  passthrough('-qmp', 'dev', 'Redirect a QMP monitor to a character device.'),
  passthrough('-mon', '[chardev=]name[,mode=readline|control]', 'Set up a monitor on a character device.'),
  passthrough('-chardev', 'backend,id=id[,...]', 'Create a character device.'),
  passthrough('-parallel', 'dev', 'Redirect the parallel port to a character device.'),
  passthrough('-object', 'type,id=id[,...]', 'Create a user-creatable object (rng-random, memory-backend-*, secret...).'),
  passthrough('-global', 'driver.prop=value', 'Set a default property value for a driver.'),
  passthrough('-rtc', '[base=utc|localtime|date][,clock=..][,driftfix=..]', 'Set the real-time clock.'),
  passthrough('-usb', undefined, 'Enable the USB controller.'),
  passthrough('-usbdevice', 'name', 'Add a USB device (legacy).'),
  passthrough('-audiodev', 'driver,id=id[,...]', 'Add an audio backend.'),
  passthrough('-smbios', 'type=0..4[,...]', 'Set SMBIOS fields.'),
  passthrough('-uuid', 'uuid', 'Set the system UUID.'),
  passthrough('-k', 'language', 'Keyboard layout (e.g. en-us).'),
  passthrough('-no-reboot', undefined, 'Exit instead of rebooting.'),
  passthrough('-no-shutdown', undefined, 'Stop instead of exiting when the guest shuts down.'),
  passthrough('-S', undefined, 'Do not start the CPU at start-up (wait for `cont`).'),
  passthrough('-s', undefined, 'Shorthand for -gdb tcp::1234.'),
  passthrough('-gdb', 'dev', 'Accept a GDB connection on a character device.'),
  passthrough('-d', 'item[,...]', 'Enable logging of the named items.'),
  passthrough('-D', 'logfile', 'Write logs to logfile.'),
  passthrough('-L', 'path', 'Directory of BIOS, VGA BIOS and keymaps.'),
  passthrough('-pidfile', 'file', 'Write the process id to file.'),
  passthrough('-loadvm', 'tag', 'Start from a saved state.'),
  passthrough('-incoming', 'uri', 'Wait for an incoming migration.'),
  passthrough('-virtfs', 'local,path=..,mount_tag=..[,...]', 'Share a host directory over 9p.'),
  passthrough('-fsdev', 'local,id=..,path=..[,...]', 'Define a file-system device.'),
  passthrough('-numa', 'node[,...]', 'Define a NUMA node.'),
  passthrough('-mem-path', 'file', 'Allocate guest RAM from a file (hugetlbfs).'),
  passthrough('-mem-prealloc', undefined, 'Preallocate guest RAM.'),
  passthrough('-overcommit', 'mem-lock=on|off[,cpu-pm=on|off]', 'Memory and CPU overcommit hints.'),
  passthrough('-icount', '[shift=N|auto][,...]', 'Deterministic instruction counting (TCG).'),
  passthrough('-dtb', 'file', 'Use file as the device tree blob.'),
  passthrough('-fw_cfg', '[name=]name,file=file', 'Add a fw_cfg entry.'),
  passthrough('-option-rom', 'file', 'Load an option ROM.'),
  passthrough('-sandbox', 'on|off[,...]', 'Enable the seccomp sandbox.'),
  passthrough('-msg', 'timestamp=on|off[,guest-name=on|off]', 'Control error message format.'),
  passthrough('-trace', '[enable=]pattern[,...]', 'Enable trace events.'),
  passthrough('-plugin', 'file=file[,...]', 'Load a TCG plugin.'),
  passthrough('-action', 'event=action', 'Action on a guest event (reboot, shutdown, panic, watchdog).'),
  passthrough('-watchdog-action', 'action', 'Action when the watchdog fires.'),
  passthrough('-semihosting', undefined, 'Enable semihosting.'),
  passthrough('-tpmdev', 'backend,id=id[,...]', 'Create a TPM backend.'),
  passthrough('-add-fd', 'fd=fd,set=set[,opaque=..]', 'Add a file descriptor to an fd set.'),
  passthrough('-set', 'group.id.arg=value', 'Set a parameter of an option group.'),
  passthrough('-runas', 'user', 'Drop privileges to user after start-up.'),
  passthrough('-chroot', 'dir', 'Chroot after start-up.'),
  passthrough('-run-with', '[async-teardown=on|off][,chroot=dir][,user=..]', 'Process options.'),
  passthrough('-compat', '[deprecated-input=..][,deprecated-output=..]', 'Policy for deprecated interfaces.'),
  passthrough('-full-screen', undefined, 'Start in full-screen mode.'),
  passthrough('-no-hpet', undefined, 'Disable the HPET.'),
  passthrough('-no-acpi', undefined, 'Disable ACPI.'),
  passthrough('-balloon', 'virtio', 'Add a memory balloon device (legacy).'),
  passthrough('-soundhw', 'card', 'Add a sound card (legacy).'),
  passthrough('-mtdblock', 'file', 'Use file as on-board flash.'),
  passthrough('-sd', 'file', 'Use file as the SD card image.'),
  passthrough('-iscsi', '[user=..][,password=..][,...]', 'iSCSI initiator parameters.'),
  passthrough('-echr', 'chr', 'Escape character for the terminal multiplexer.'),
  passthrough('-virtioconsole', 'dev', 'Add a virtio console on a character device.'),
  passthrough('-win2k-hack', undefined, 'Work around a Windows 2000 installer bug.'),
  passthrough('-no-user-config', undefined, 'Do not load default user-provided config files.'),
  passthrough('-readconfig', 'file', 'Read a configuration file.'),
  passthrough('-writeconfig', 'file', 'Write the configuration to file.'),
  passthrough('-nodefconfig', undefined, 'Do not load default config files.'),
  passthrough('-preconfig', undefined, 'Pause before machine initialization (QMP configuration).'),
  passthrough('-qmp-pretty', 'dev', 'QMP monitor with pretty-printed JSON.'),
  passthrough('-rtc-td-hack', undefined, 'Legacy RTC hack.'),
  passthrough('-no-fd-bootchk', undefined, 'Disable the floppy boot signature check.'),
  passthrough('-portrait', undefined, 'Rotate the graphical output 90 degrees left.'),
  passthrough('-rotate', 'deg', 'Rotate the graphical output.'),
  passthrough('-sdl', undefined, 'Use the SDL display (legacy).'),
  passthrough('-curses', undefined, 'Use the curses display (legacy).'),
  passthrough('-g', 'WxH[xDEPTH]', 'Initial graphical resolution and depth.'),
  passthrough('-alt-grab', undefined, 'Use Ctrl-Alt-Shift to grab the mouse (legacy).'),
  passthrough('-ctrl-grab', undefined, 'Use right Ctrl to grab the mouse (legacy).'),
  passthrough('-xen-domid', 'id', 'Xen domain id.'),
  passthrough('-enable-sync-profile', undefined, 'Enable synchronization profiling.'),
  passthrough('-version', undefined, 'Print the version and exit.'),
  passthrough('-h', undefined, 'Print help and exit.'),
  passthrough('-help', undefined, 'Print help and exit.'),
];

const byName = new Map(OPTION_CATALOG.map((o) => [o.name, o]));

/** QEMU accepts `--opt` as `-opt`. */
export function canonicalOptionName(word: string): string {
  return word.startsWith('--') ? word.slice(1) : word;
}

export function lookupOption(word: string): OptionInfo | undefined {
  return byName.get(canonicalOptionName(word));
}

/** Suboptions of `-netdev user`: the slirp's parser owns the list (completion and hover read it). */
export { NETDEV_USER_SUBOPTIONS } from '../slirp/netdev-suboptions';

export const NIC_MODELS: ReadonlyArray<{ name: string; summary: string }> = [
  { name: 'e1000', summary: 'Intel 82540EM Gigabit Ethernet (Usernet\'s own model under the embedded engine).' },
  { name: 'e1000-82545em', summary: 'Intel 82545EM Gigabit Ethernet.' },
  { name: 'e1000-82544gc', summary: 'Intel 82544GC Gigabit Ethernet.' },
  { name: 'e1000e', summary: 'Intel 82574L (PCIe).' },
  { name: 'virtio-net-pci', summary: 'Paravirtual virtio network card (fastest under QEMU).' },
  { name: 'rtl8139', summary: 'Realtek RTL8139.' },
  { name: 'ne2k_pci', summary: 'NE2000 PCI.' },
  { name: 'pcnet', summary: 'AMD PCnet.' },
  { name: 'vmxnet3', summary: 'VMware vmxnet3.' },
  { name: 'i82559er', summary: 'Intel 82559ER.' },
];

/** `-net nic,model=` and `-nic ...,model=` accept short names for some devices. */
export function normalizeNicModel(model: string): string {
  return model === 'virtio' ? 'virtio-net-pci' : model;
}

export function isNicDriver(driver: string): boolean {
  return NIC_MODELS.some((m) => m.name === driver) || driver === 'virtio-net' || driver === 'virtio-net-device';
}

export const NETDEV_TYPES = ['user', 'tap', 'bridge', 'socket', 'stream', 'dgram', 'l2tpv3', 'vde', 'vhost-user', 'vhost-vdpa', 'hubport', 'passt'] as const;
