/**
 * Bytes as Wireshark's bytes pane shows them: an offset, sixteen bytes in hex
 * (a wider gap after the eighth) and the same bytes as ASCII, dots for what
 * does not print.
 *
 *     0010  00 38 12 34 00 00 40 06  26 a3 0a 00 02 0f 5d b8   .8.4..@.&.....].
 */
export const BYTES_PER_LINE = 16;

export interface HexLine {
  /** "0010" */
  readonly offset: string;
  /** "00 38 12 34 00 00 40 06  26 a3 0a 00 02 0f 5d b8   .8.4..@.&.....]." */
  readonly text: string;
}

export function hexLine(bytes: Uint8Array, start: number): HexLine {
  const end = Math.min(start + BYTES_PER_LINE, bytes.length);
  let hex = '';
  let ascii = '';
  for (let i = start; i < start + BYTES_PER_LINE; i++) {
    if (i > start) hex += i - start === 8 ? '  ' : ' ';
    if (i < end) {
      const b = bytes[i]!;
      hex += b.toString(16).padStart(2, '0');
      ascii += b >= 0x20 && b < 0x7f ? String.fromCharCode(b) : '.';
    } else {
      hex += '  ';
    }
  }
  return { offset: start.toString(16).padStart(4, '0'), text: `${hex}   ${ascii}` };
}

export function hexLines(bytes: Uint8Array): HexLine[] {
  const lines: HexLine[] = [];
  for (let i = 0; i < bytes.length; i += BYTES_PER_LINE) lines.push(hexLine(bytes, i));
  return lines;
}
