/**
 * The e1000's register and descriptor interface, driven as a guest driver would:
 * the input is a program of register writes and reads (MMIO and the I/O BAR),
 * descriptors and buffers written into guest RAM, tail bumps, frames arriving and
 * time passing, run against a NIC that Linux's reset and ring setup left ready
 * (test/unit/e1000/harness.ts). Nothing may escape the model, the rings' heads
 * must stay inside the rings, and no frame leaves larger than the TX limits.
 */
import { MAX_PLAIN_PACKET, MAX_TSO_PACKET } from '../../../extension/e1000/tx';
import { bench, R, RX_RING, TX_BUFS, TX_RING } from '../../unit/e1000/harness';
import type { FuzzTarget } from './target';

const REGISTERS = Object.values(R);

export const e1000: FuzzTarget = {
  about: 'a program of e1000 register accesses, descriptor and buffer writes, tail bumps, received frames and clock ticks (one opcode byte, then its operands)',
  // Programs stay short: each runs the NIC model through whole descriptor rings.
  maxLength: 1024,
  dictionary: [[4, 1], [4, 3], [2, 0], [0, 14], [0, 21], [0x0b], [0x2b], [0x20, 0x0c], [0x29], [0x3d]],
  open() {
    const b = bench();
    return {
      run(data: Uint8Array): void {
        // Each program starts from what Linux's probe leaves: RAM cleared, the NIC reset, both rings set up.
        b.bus.mem.fill(0);
        b.sent.length = 0;
        b.drv.reset();
        b.drv.setupTx(8);
        b.drv.setupRx(8);
        let i = 0;
        const byte = () => (i < data.length ? data[i++]! : 0);
        const u32 = () => (byte() | (byte() << 8) | (byte() << 16) | (byte() << 24)) >>> 0;
        const bytes = (n: number) => {
          const out = data.subarray(i, Math.min(data.length, i + n));
          i += out.length;
          return out;
        };
        while (i < data.length) {
          switch (byte() % 8) {
            case 0: {
              const sel = byte();
              const reg = sel < REGISTERS.length * 2 ? REGISTERS[sel % REGISTERS.length]! : (u32() & 0x1fffc);
              b.drv.w(reg, u32());
              break;
            }
            case 1:
              b.drv.r(REGISTERS[byte() % REGISTERS.length]!);
              break;
            case 2: {
              // A TX descriptor; its buffer address points into the buffers unless the flag byte says raw.
              const slot = byte() % 8;
              const desc = new Uint8Array(16);
              desc.set(bytes(16));
              if (!(byte() & 1)) new DataView(desc.buffer).setUint32(0, TX_BUFS + slot * 0x1000 + (desc[0]! & 0xf), true);
              b.bus.mem.set(desc, TX_RING + slot * 16);
              break;
            }
            case 3: {
              const at = TX_BUFS + ((byte() << 8) | byte());
              b.bus.mem.set(bytes(byte()), at);
              break;
            }
            case 4:
              b.drv.bumpTdt(byte() % 9);
              break;
            case 5: {
              const len = ((byte() << 8) | byte()) % 2048;
              const frame = new Uint8Array(len);
              frame.set(bytes(len));
              b.nic.receive(frame);
              break;
            }
            case 6:
              b.nic.ioWrite32(byte() & 4, u32());
              break;
            default:
              b.clock.advance(byte());
          }
        }
        const tdlen = b.drv.r(R.TDLEN);
        if (tdlen >= 16 && b.drv.r(R.TDBAL) === TX_RING && b.drv.r(R.TDH) >= tdlen / 16) throw new Error(`TDH ${b.drv.r(R.TDH)} outside a ring of ${tdlen / 16}`);
        const rdlen = b.drv.r(R.RDLEN);
        if (rdlen >= 16 && b.drv.r(R.RDBAL) === RX_RING && b.drv.r(R.RDH) >= rdlen / 16) throw new Error(`RDH ${b.drv.r(R.RDH)} outside a ring of ${rdlen / 16}`);
        for (const f of b.sent) if (f.length > Math.max(MAX_PLAIN_PACKET, MAX_TSO_PACKET)) throw new Error(`a ${f.length}-byte frame left the NIC`);
      },
      close() {},
    };
  },
};
