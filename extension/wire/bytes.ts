/** Big-endian accessors over Uint8Array, used by the header views. Callers check bounds first. */
export const get16 = (b: Uint8Array, o: number): number => (b[o]! << 8) | b[o + 1]!;
export const get32 = (b: Uint8Array, o: number): number => ((b[o]! << 24) | (b[o + 1]! << 16) | (b[o + 2]! << 8) | b[o + 3]!) >>> 0;
export function set16(b: Uint8Array, o: number, v: number): void {
  b[o] = (v >>> 8) & 255;
  b[o + 1] = v & 255;
}
export function set32(b: Uint8Array, o: number, v: number): void {
  b[o] = (v >>> 24) & 255;
  b[o + 1] = (v >>> 16) & 255;
  b[o + 2] = (v >>> 8) & 255;
  b[o + 3] = v & 255;
}

export function formatMac(b: Uint8Array, o = 0): string {
  const parts: string[] = [];
  for (let i = 0; i < 6; i++) parts.push((b[o + i] ?? 0).toString(16).padStart(2, '0'));
  return parts.join(':');
}

export function macEquals(a: Uint8Array, ao: number, b: Uint8Array, bo = 0): boolean {
  for (let i = 0; i < 6; i++) if (a[ao + i] !== b[bo + i]) return false;
  return true;
}

export const BROADCAST_MAC = new Uint8Array([255, 255, 255, 255, 255, 255]);
