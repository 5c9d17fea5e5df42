/**
 * Capture files for the capture editor's tests, written by our own pcapng
 * writer: repeated HTTP-like connections (a DNS lookup, a TCP handshake, data
 * both ways, a FIN teardown), each frame on the interface of its stage and
 * commented as `usernet run --pcap x.pcapng` comments it.
 */
import { PassThrough } from 'node:stream';
import { PcapngWriter } from '../../extension/pipeline/pcapng';
import type { StageName } from '../../extension/pipeline/stages';
import { dnsQuery, dnsResponse, ipv4Frame, TCP, tcp, udp } from '../unit/pipeline/frames';

export const GUEST = '10.0.2.15';
export const SERVER = '93.184.216.34';
export const PACKETS_PER_CONNECTION = 20;
/** Of each connection's packets, these are TCP to port 80 (the rest is its DNS query and answer). */
export const TCP_PACKETS_PER_CONNECTION = 18;

const TX: StageName = 'qemu_send_packet';
const RX: StageName = 'net_slirp_send_packet';

interface Sample { frame: Uint8Array; stage: StageName; comment: string }

function connection(c: number): Sample[] {
  const port = 40000 + (c % 20000);
  const nat = `nat tcp ${GUEST}:${port} <-> 127.0.0.1:${50000 + (c % 10000)} (session ${c + 1})`;
  const out = (flags: number, seq: number, ack: number, payload: number[] = []) =>
    ipv4Frame({ src: GUEST, dst: SERVER, proto: 6 }, tcp({ sport: port, dport: 80, flags, seq, ack, payload }));
  const back = (flags: number, seq: number, ack: number, payload: number[] = []) =>
    ipv4Frame({ src: SERVER, dst: GUEST, proto: 6 }, tcp({ sport: 80, dport: port, flags, seq, ack, payload }));
  const data = [...'GET / HTTP/1.0\r\n\r\n'].map((ch) => ch.charCodeAt(0));
  const frames: Array<[Uint8Array, StageName]> = [
    [ipv4Frame({ src: GUEST, dst: '10.0.2.3', proto: 17 }, udp(33000 + (c % 1000), 53, dnsQuery(c & 0xffff, 'example.com'))), TX],
    [ipv4Frame({ src: '10.0.2.3', dst: GUEST, proto: 17 }, udp(53, 33000 + (c % 1000), dnsResponse(c & 0xffff, 'example.com', [SERVER]))), RX],
    [out(TCP.SYN, 1000, 0), TX],
    [back(TCP.SYN | TCP.ACK, 5000, 1001), RX],
    [out(TCP.ACK, 1001, 5001), TX],
  ];
  let seq = 1001;
  let ack = 5001;
  for (let i = 0; i < 6; i++) {
    frames.push([out(TCP.PSH | TCP.ACK, seq, ack, data), TX]);
    seq += data.length;
    frames.push([back(TCP.ACK, ack, seq), RX]);
  }
  frames.push([out(TCP.FIN | TCP.ACK, seq, ack), TX], [back(TCP.FIN | TCP.ACK, ack, seq + 1), RX], [out(TCP.ACK, seq + 1, ack + 1), TX]);
  return frames.map(([frame, stage], i) => ({ frame, stage, comment: `stage ${stage}; journey ${c * PACKETS_PER_CONNECTION + i + 1}${i >= 2 ? `; ${nat}` : ''}` }));
}

/** A pcapng of `packets` packets (whole connections, the last one cut), 1 ms apart. */
export async function samplePcapng(packets: number, startMicros = 1_764_000_000_000_000): Promise<Buffer> {
  const stream = new PassThrough();
  const chunks: Buffer[] = [];
  stream.on('data', (c: Buffer) => chunks.push(c));
  // Room for the whole file in the writer's buffer: nothing drains it before close().
  const w = new PcapngWriter(stream, undefined, 1 << 30);
  let n = 0;
  for (let c = 0; n < packets; c++) {
    for (const s of connection(c)) {
      if (n >= packets) break;
      w.write(s.frame, { stage: s.stage, micros: startMicros + n * 1000, comment: s.comment });
      n++;
    }
  }
  await w.close();
  return Buffer.concat(chunks);
}
