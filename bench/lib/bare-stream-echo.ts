/**
 * The floor for a `-netdev stream` peer written in Node.js: listens on a unix
 * socket (argv[2]) and writes every byte it reads straight back, so a framed
 * frame returns as it came. No parsing, no stack: what is left of a round trip
 * through it is the process hop (wake-up, libuv, Node's streams, two syscalls).
 */
import net from 'node:net';

const path = process.argv[2];
if (!path) throw new Error('usage: bare-stream-echo.ts SOCKET_PATH');
const server = net.createServer((socket) => {
  socket.setNoDelay?.(true);
  socket.on('data', (chunk) => socket.write(chunk));
  socket.on('error', () => {});
});
server.listen(path);
process.on('SIGTERM', () => process.exit(0));
