/**
 * QEMU's size syntax (qemu_strtosz with a default unit of MiB for `-m`):
 * `512`, `512M`, `1G`, `1.5G`, `65536K`, `1T`; the suffix is case-insensitive,
 * `B` means bytes.
 */
const UNITS: Record<string, number> = {
  b: 1,
  k: 1024,
  m: 1024 ** 2,
  g: 1024 ** 3,
  t: 1024 ** 4,
  p: 1024 ** 5,
  e: 1024 ** 6,
};

/** Bytes for a size string, or undefined when it is not one. */
export function parseSize(text: string, defaultUnit: keyof typeof UNITS = 'm'): number | undefined {
  const match = /^(\d+(?:\.\d+)?)([bkmgtpe])?$/i.exec(text.trim());
  if (!match) return undefined;
  const number = Number(match[1]);
  const unit = UNITS[(match[2] ?? defaultUnit).toLowerCase()];
  // A fraction only makes sense with a unit bigger than a byte.
  if (!Number.isInteger(number) && unit === 1) return undefined;
  return Math.round(number * unit);
}

/** `-m` argument in MiB (rounded down), or undefined when malformed. */
export function parseMemoryMiB(text: string): number | undefined {
  const bytes = parseSize(text, 'm');
  if (bytes === undefined) return undefined;
  return Math.floor(bytes / 1024 ** 2);
}
