/**
 * A loopback sink in a separate Node process: it accepts any number of
 * connections and discards what they send, so heap measured in this process
 * holds only our side (the stack and its host sockets), not the server's.
 */
import { spawn, type ChildProcess } from 'node:child_process';

const SERVER = `
const net = require('node:net');
const server = net.createServer((s) => { s.on('data', () => {}); s.on('error', () => {}); });
server.maxConnections = 100000;
server.listen(0, '127.0.0.1', 4096, () => process.stdout.write(server.address().port + '\\n'));
process.stdin.on('end', () => process.exit(0));
process.stdin.resume();
`;

export interface ChildSink {
  port: number;
  close(): Promise<void>;
}

export async function startChildSink(): Promise<ChildSink> {
  const child: ChildProcess = spawn(process.execPath, ['-e', SERVER], { stdio: ['pipe', 'pipe', 'inherit'] });
  const port = await new Promise<number>((resolve, reject) => {
    let text = '';
    child.stdout!.on('data', (d: Buffer) => {
      text += d.toString();
      const m = /^(\d+)\n/.exec(text);
      if (m) resolve(Number(m[1]));
    });
    child.once('exit', (code) => reject(new Error(`sink process exited (${code}) before listening`)));
  });
  return {
    port,
    close: () =>
      new Promise((resolve) => {
        child.once('exit', () => resolve());
        child.stdin!.end();
        setTimeout(() => child.kill('SIGKILL'), 3000).unref();
      }),
  };
}
