/** Internet (ones'-complement) checksums and the Ethernet FCS, as the hardware computes them. */

/** Adds bytes [start, end) as big-endian 16-bit words to a running 32-bit sum. */
export function onesSum(data: Uint8Array, start: number, end: number, sum = 0): number {
  let i = start;
  // Fold every 64K words so the sum never leaves the safe integer range.
  while (i + 1 < end) {
    sum += (data[i] << 8) | data[i + 1];
    i += 2;
    if ((i & 0x1ffff) === 0) sum = (sum & 0xffff) + (sum >>> 16);
  }
  if (i < end) sum += data[i] << 8;
  return sum;
}

export function foldSum(sum: number): number {
  while (sum > 0xffff) sum = (sum & 0xffff) + Math.floor(sum / 0x10000);
  return sum;
}

/** The complemented checksum of a running sum. */
export function finishSum(sum: number): number {
  return ~foldSum(sum) & 0xffff;
}

const CRC_TABLE = (() => {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
})();

/** The Ethernet FCS (CRC-32, reflected) of data[0, len). */
export function ethernetCrc(data: Uint8Array, len = data.length): number {
  let c = 0xffffffff;
  for (let i = 0; i < len; i++) c = CRC_TABLE[(c ^ data[i]) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}
