/**
 * Looks at a kernel file's x86 boot header before the embedded engine is
 * given it. v86's loader says nothing about a file it cannot boot (it logs in
 * debug builds only) and the guest then sits silent until a timeout; the
 * header tells in microseconds. Field offsets are from the Linux x86 boot
 * protocol (Documentation/arch/x86/boot.rst).
 */

const BOOT_FLAG_OFFSET = 0x1fe;
const BOOT_FLAG = 0xaa55;
const HEADER_MAGIC_OFFSET = 0x202;
const HEADER_MAGIC = 0x53726448; // "HdrS"
const VERSION_OFFSET = 0x206;
const LOADFLAGS_OFFSET = 0x211;
const LOADED_HIGH = 0x01;
const XLOADFLAGS_OFFSET = 0x236;
const XLF_KERNEL_64 = 0x01;
/** 2.02 brought cmd_line_ptr, which v86 (like QEMU) writes. */
const MIN_VERSION = 0x0202;
/** xloadflags exist from 2.12. */
const XLOADFLAGS_VERSION = 0x020c;
/** The end of the fields read here. */
const HEADER_END = XLOADFLAGS_OFFSET + 2;

export class KernelRefused extends Error {}

/**
 * Throws a KernelRefused naming `file` when `bytes` is not a bzImage the
 * embedded engine (a 32-bit x86 CPU) can boot; returns the protocol version.
 */
export function checkEmbeddedKernel(bytes: Uint8Array, file: string): number {
  const notKernel = (why: string) => new KernelRefused(`${file} is not a Linux kernel the embedded engine can boot (a bzImage): ${why}`);
  if (bytes.length < HEADER_END) throw notKernel(`${bytes.length} bytes is too short for the boot header`);
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (dv.getUint32(HEADER_MAGIC_OFFSET, true) !== HEADER_MAGIC) throw notKernel("no 'HdrS' boot header at 0x202");
  if (dv.getUint16(BOOT_FLAG_OFFSET, true) !== BOOT_FLAG) throw notKernel('no 0xAA55 boot flag at 0x1fe');
  const version = dv.getUint16(VERSION_OFFSET, true);
  const shown = `${version >> 8}.${(version & 0xff).toString().padStart(2, '0')}`;
  if (version < MIN_VERSION) throw notKernel(`boot protocol ${shown} is older than 2.02`);
  if (!(bytes[LOADFLAGS_OFFSET]! & LOADED_HIGH)) throw notKernel('a zImage (loaded low), not a bzImage');
  if (version >= XLOADFLAGS_VERSION && bytes[XLOADFLAGS_OFFSET]! & XLF_KERNEL_64) {
    throw new KernelRefused(`${file} is a 64-bit (x86_64) kernel and the embedded engine emulates a 32-bit CPU: run it with --engine qemu, or boot an i386 kernel`);
  }
  return version;
}
