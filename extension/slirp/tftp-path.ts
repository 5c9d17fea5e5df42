import { realpath } from 'node:fs/promises';
import { isAbsolute, join, sep } from 'node:path';
import { TFTP_FILENAME_MAX } from '../wire/tftp';

/**
 * Why a requested name is refused before the file system is asked, or null.
 * TFTP must never leave its root: no absolute names (nor Windows drive or UNC
 * forms), no `..` component anywhere, no backslash (a separator on Windows),
 * no control characters.
 */
export function refuseTftpName(name: string): string | null {
  if (name.length === 0) return 'empty';
  if (name.length > TFTP_FILENAME_MAX) return 'too-long';
  if (/[\u0000-\u001f\u007f]/.test(name)) return 'control-character';
  if (name.includes('\\')) return 'backslash';
  if (name.startsWith('/') || /^[A-Za-z]:/.test(name) || isAbsolute(name)) return 'absolute';
  if (name.endsWith('/')) return 'directory';
  if (name.split('/').includes('..')) return 'parent-component';
  return null;
}

export type Resolved = { readonly path: string } | { readonly error: 'not-found' | 'outside-root' };

/**
 * The real path of `name` under `rootReal` (itself a real path). Symbolic links
 * are followed and the result must still lie under the root: a link inside the
 * root that points outside is refused.
 */
export async function resolveUnderRoot(rootReal: string, name: string): Promise<Resolved> {
  let real: string;
  try {
    real = await realpath(join(rootReal, name));
  } catch {
    return { error: 'not-found' };
  }
  const prefix = rootReal.endsWith(sep) ? rootReal : rootReal + sep;
  return real.startsWith(prefix) ? { path: real } : { error: 'outside-root' };
}
