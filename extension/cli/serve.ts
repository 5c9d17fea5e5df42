/** `usernet serve`: our slirp as the network backend of a real QEMU. */
import { parseArgs } from 'node:util';
import { serveStream } from '../machine/stream-backend';
import { DEFAULT_SLIRP_CONFIG } from '../slirp/config';
import { parseNetdevUser } from '../slirp/netdev-options';
import { UsageError } from './usage-error';

export const SERVE_HELP = `usage: usernet serve (--socket PATH | --listen HOST:PORT) [--netdev OPTS]

Listens first, then QEMU connects with
  -netdev stream,id=n0,server=off,addr.type=unix,addr.path=PATH -device e1000,netdev=n0
(or addr.type=inet,addr.host=HOST,addr.port=PORT). One guest per connection;
each gets its own slirp with the --netdev options (QEMU's -netdev user syntax).
Ctrl-C stops serving.
`;

export async function serveCommand(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    strict: true,
    allowPositionals: true,
    options: {
      socket: { type: 'string' },
      listen: { type: 'string' },
      netdev: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) {
    process.stdout.write(SERVE_HELP);
    return 0;
  }
  if (positionals.length) throw new UsageError(`unexpected argument '${positionals[0]}' (see usernet serve --help)`);
  if (!values.socket === !values.listen) throw new UsageError('give exactly one of --socket PATH or --listen HOST:PORT');
  let host: string | undefined;
  let port: number | undefined;
  if (values.listen) {
    const m = /^(.*):(\d+)$/.exec(values.listen);
    if (!m || Number(m[2]) > 65535) throw new UsageError(`--listen expects HOST:PORT, got '${values.listen}'`);
    host = m[1] || '127.0.0.1';
    port = Number(m[2]);
  }
  let config = DEFAULT_SLIRP_CONFIG;
  if (values.netdev !== undefined) {
    try {
      config = parseNetdevUser(values.netdev);
    } catch (e) {
      throw new UsageError(`--netdev: ${(e as Error).message}`);
    }
  }
  const server = await serveStream({
    path: values.socket,
    host,
    port,
    config,
    log: (msg) => process.stderr.write(`usernet: ${msg}\n`),
  });
  process.stderr.write(`usernet: serving on ${server.address}\n`);
  await new Promise<void>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
  await server.close();
  return 0;
}
