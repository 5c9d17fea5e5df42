/**
 * A guest driver gone wrong, from the guest shell: the e1000's TX ring moved
 * onto the guest kernel's own memory at 16 MiB (TDBAL=0x1000000, TDLEN=64 KiB,
 * TDH=0, TDT=0xfff) through the I/O BAR's IOADDR/IODATA window
 * (resource1: offset 0 selects a register, offset 4 writes it). The NIC then
 * writes descriptor status over the kernel, which faults while handling faults.
 * It prints "survived" only if the VM lived through it.
 */
export const HOSTILE_TX_RING = [
  `le(){ v=$(($1)); printf "$(printf '\\\\%03o\\\\%03o\\\\%03o\\\\%03o' $((v&255)) $((v>>8&255)) $((v>>16&255)) $((v>>24&255)))"; }`,
  'R=/sys/bus/pci/devices/0000:00:03.0/resource1',
  'wr(){ le $1 | dd of=$R bs=4 seek=0 count=1 conv=notrunc 2>/dev/null; le $2 | dd of=$R bs=4 seek=1 count=1 conv=notrunc 2>/dev/null; }',
  'wr 0x3800 0x1000000; wr 0x3804 0; wr 0x3808 0x10000; wr 0x3810 0; wr 0x3818 0xfff; sleep 5; echo survived',
].join('\n');

/** What the embedded engine says when that program ends the VM. */
export const HOSTILE_TX_RING_END = 'the emulated CPU stopped: faults nested until the stack overflowed (guest reset: a triple fault on hardware)';
