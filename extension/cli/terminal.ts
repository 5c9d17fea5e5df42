/**
 * The serial console on this terminal, QEMU style: raw mode, Ctrl-A as the
 * escape key (x quits, s prints the NAT sessions, h helps, Ctrl-A sends one).
 */
import type { EmbeddedMachine } from '../machine/embedded-machine';

const CTRL_A = 0x01;
const KEYS_HELP = '\r\nC-a x    quit\r\nC-a s    NAT sessions (info usernet)\r\nC-a h    this help\r\nC-a C-a  send C-a\r\n';

export interface TerminalOptions {
  /** False while stdin belongs to someone else (the breakpoint prompt): keys are then not the guest's. */
  readonly mayRead?: () => boolean;
}

export function attachTerminal(vm: EmbeddedMachine, options: TerminalOptions = {}): Promise<number> {
  const stdin = process.stdin;
  const out = process.stdout;
  // The guest printed its prompt before this terminal attached (the progress line stood for
  // the boot): show the line it is on, so there is a prompt to type at without pressing a key.
  out.write(Buffer.from(vm.serial.currentLine, 'latin1'));
  vm.serial.on('data', (chunk) => out.write(chunk));
  return new Promise((resolve) => {
    let escape = false;
    const finish = (status: number) => {
      if (stdin.isTTY) stdin.setRawMode(false);
      stdin.pause();
      resolve(status);
    };
    if (stdin.isTTY) stdin.setRawMode(true);
    stdin.on('data', (buf: Buffer) => {
      if (options.mayRead && !options.mayRead()) return;
      if (!stdin.isTTY) {
        vm.serial.write(buf);
        return;
      }
      for (const byte of buf) {
        if (escape) {
          escape = false;
          if (byte === 0x78 /* x */) return finish(0);
          if (byte === 0x73 /* s */) out.write('\r\n' + (vm.slirp?.infoUsernet() ?? 'no network\n').replace(/\n/g, '\r\n'));
          else if (byte === 0x68 /* h */) out.write(KEYS_HELP);
          else if (byte === CTRL_A) vm.serial.write(Uint8Array.of(CTRL_A));
          continue;
        }
        if (byte === CTRL_A) escape = true;
        else vm.serial.write(Uint8Array.of(byte));
      }
    });
    // Piped input that ends leaves the guest running until it is killed or times out.
    stdin.on('end', () => {
      if (stdin.isTTY) finish(0);
    });
    stdin.resume();
  });
}
