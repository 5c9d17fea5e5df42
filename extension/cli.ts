/**
 * `usernet`: the headless face of the engine.
 *   usernet run      boot the guest, serial console on this terminal (or --exec CMD)
 *   usernet serve    our slirp as the network backend of a real QEMU (-netdev stream)
 *   usernet sessions the NAT table of a running `usernet run`
 *   usernet cache    the post-boot snapshots, listed or cleared
 */
import { cacheCommand, CACHE_HELP } from './cli/cache';
import { runCommand, RUN_HELP } from './cli/run';
import { serveCommand, SERVE_HELP } from './cli/serve';
import { sessionsCommand, SESSIONS_HELP } from './cli/sessions';
import { UsageError } from './cli/usage-error';

const HELP = `usage: usernet <command> [options]

commands:
  run      boot the VM with Usernet's e1000 and slirp; serial console here
  serve    run the slirp stack as a QEMU -netdev stream backend
  sessions print the NAT table of a running 'usernet run' (info usernet)
  cache    list or clear the post-boot snapshots

'usernet <command> --help' tells more.
`;

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  switch (command) {
    case 'run':
      return runCommand(rest);
    case 'serve':
      return serveCommand(rest);
    case 'sessions':
      return sessionsCommand(rest);
    case 'cache':
      return cacheCommand(rest);
    case undefined:
    case '-h':
    case '--help':
    case 'help':
      process.stdout.write(HELP + '\n' + RUN_HELP + '\n' + SERVE_HELP + '\n' + SESSIONS_HELP + '\n' + CACHE_HELP);
      return command === undefined ? 2 : 0;
    default:
      throw new UsageError(`unknown command '${command}': expected run, serve, sessions or cache`);
  }
}

main(process.argv.slice(2)).then(
  (status) => process.exit(status),
  (err: unknown) => {
    const e = err as Error & { code?: string };
    // Node's own argument parser reports unknown or malformed options with these codes.
    const usage = err instanceof UsageError || (typeof e.code === 'string' && e.code.startsWith('ERR_PARSE_ARGS'));
    process.stderr.write(`usernet: ${e.message ?? String(err)}\n`);
    if (process.env.USERNET_DEBUG) process.stderr.write(`${e.stack}\n`);
    process.exit(usage ? 2 : 1);
  },
);
