/** Bytes as Wireshark's bytes pane shows them: offset, 16 bytes in hex (8 + 8), the same as ASCII. */
export function hexDump(bytes: Uint8Array): string {
  const lines: string[] = [];
  for (let off = 0; off < bytes.length; off += 16) {
    const line = bytes.subarray(off, off + 16);
    const hexes = Array.from(line, (b) => b.toString(16).padStart(2, '0'));
    const left = hexes.slice(0, 8).join(' ');
    const right = hexes.slice(8).join(' ');
    const ascii = Array.from(line, (b) => (b >= 0x20 && b < 0x7f ? String.fromCharCode(b) : '.')).join('');
    lines.push(`${off.toString(16).padStart(4, '0')}  ${left.padEnd(23)}  ${right.padEnd(23)}  ${ascii}`);
  }
  return lines.join('\n');
}
