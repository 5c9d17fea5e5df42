/** Where the bundled guest lives, whichever entry (bundle or source) asks. */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

/** The package root: the nearest folder above this file holding media/guest/. */
export function packageRoot(): string {
  let dir = __dirname;
  for (;;) {
    if (existsSync(join(dir, 'media', 'guest', 'MANIFEST'))) return dir;
    const up = dirname(dir);
    if (up === dir) throw new Error(`cannot find media/guest/ above ${__dirname}: is the guest built (scripts/build-guest.sh)?`);
    dir = up;
  }
}

export interface GuestFiles {
  bios: string;
  vgaBios: string;
  bzImage: string;
  initrd: string;
  manifest: string;
}

export function bundledGuest(): GuestFiles {
  const g = join(packageRoot(), 'media', 'guest');
  return {
    bios: join(g, 'bios-256k.bin'),
    vgaBios: join(g, 'vgabios-stdvga.bin'),
    bzImage: join(g, 'bzImage'),
    initrd: join(g, 'initramfs.cpio.gz'),
    manifest: join(g, 'MANIFEST'),
  };
}

/** The prompt the bundled guest's shell prints (PS1='usernet:\w# '). */
export const GUEST_PROMPT = /usernet:[^\r\n#]*# /;
/** Printed once by the bundled guest's init when its shell is about to start. */
export const GUEST_READY = 'Usernet guest ready';

export function readFileOrExplain(path: string, what: string): Uint8Array {
  try {
    return readFileSync(path);
  } catch (e) {
    throw new Error(`cannot read ${what} ${path}: ${(e as NodeJS.ErrnoException).code ?? e}`);
  }
}
