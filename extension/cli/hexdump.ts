/** `x` at the breakpoint prompt: the held frame as offset, 16 hex bytes and their ASCII, like `xxd`. */
export function hexdump(bytes: Uint8Array, maxBytes = 4096): string {
  const n = Math.min(bytes.length, maxBytes);
  const lines: string[] = [];
  for (let off = 0; off < n; off += 16) {
    const row = bytes.subarray(off, Math.min(off + 16, n));
    let hex = '';
    let text = '';
    for (let i = 0; i < 16; i++) {
      if (i === 8) hex += ' ';
      const b = row[i];
      hex += b === undefined ? '   ' : ` ${b.toString(16).padStart(2, '0')}`;
      if (b !== undefined) text += b >= 0x20 && b < 0x7f ? String.fromCharCode(b) : '.';
    }
    lines.push(`${off.toString(16).padStart(4, '0')} ${hex}  ${text}`);
  }
  if (bytes.length > n) lines.push(`… ${bytes.length - n} more bytes`);
  return lines.join('\n');
}
