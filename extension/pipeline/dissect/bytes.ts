/**
 * Bounds checks and byte-string helpers for the dissector and the filter; the
 * big-endian reads and the address formatters are wire's (extension/wire).
 * Callers check `has` (or the layer's length) first; these helpers never allocate.
 */
export function u8(b: Uint8Array, off: number): number {
  return b[off]!;
}

/** True when `len` bytes starting at `off` lie inside the frame. */
export function has(b: Uint8Array, off: number, len: number): boolean {
  return off >= 0 && off + len <= b.length;
}

export function formatBytes(b: Uint8Array, max = 64): string {
  const n = Math.min(b.length, max);
  let s = '';
  for (let i = 0; i < n; i++) s += (i ? ':' : '') + b[i]!.toString(16).padStart(2, '0');
  return b.length > max ? `${s}… (${b.length} bytes)` : s;
}

/** Lexicographic order, for <, > on addresses and byte strings. */
export function bytesCompare(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return a[i]! - b[i]!;
  return a.length - b.length;
}

export function bytesIndexOf(hay: Uint8Array, needle: Uint8Array): number {
  if (needle.length === 0) return 0;
  outer: for (let i = 0; i + needle.length <= hay.length; i++) {
    for (let j = 0; j < needle.length; j++) if (hay[i + j] !== needle[j]) continue outer;
    return i;
  }
  return -1;
}
