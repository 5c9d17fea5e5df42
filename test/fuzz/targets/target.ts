/**
 * A fuzz target: what one input means and the state it runs against. Inputs
 * run one after another against the same instance (libFuzzer's persistent mode);
 * the engine opens a fresh one every so often so history stays bounded.
 */
export interface FuzzTarget {
  /** One line: what the bytes of an input are. */
  readonly about: string;
  /** The largest input worth trying. */
  readonly maxLength: number;
  /** Magic values the mutator may insert (option codes, ports, cookies). */
  readonly dictionary?: readonly number[][];
  open(): Promise<FuzzInstance> | FuzzInstance;
}

export interface FuzzInstance {
  /** Runs one input; throws when the code under test broke a rule (an escaped exception, a malformed reply, a bound). */
  run(data: Uint8Array): void;
  close(): Promise<void> | void;
}

/**
 * Splits an input into messages: each is a 2-byte big-endian length and that
 * many bytes (the last takes what is left), so one input can be a conversation
 * (DISCOVER then REQUEST, SYN then data). At most 16.
 */
export function messages(data: Uint8Array): Uint8Array[] {
  const out: Uint8Array[] = [];
  let i = 0;
  while (i < data.length && out.length < 16) {
    if (i + 2 > data.length) break;
    const len = (data[i]! << 8) | data[i + 1]!;
    const end = Math.min(data.length, i + 2 + len);
    out.push(data.subarray(i + 2, end));
    i = end;
  }
  return out;
}

/** The inverse of messages(): how seeds are written. */
export function joinMessages(parts: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + 2 + p.length, 0));
  let i = 0;
  for (const p of parts) {
    out[i++] = p.length >> 8;
    out[i++] = p.length & 0xff;
    out.set(p, i);
    i += p.length;
  }
  return out;
}
