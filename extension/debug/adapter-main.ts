/**
 * The debug adapter's process (dist/adapter.js): one VM per debug session,
 * spoken to over DAP on stdin/stdout. The VM runs here, never on the
 * extension host's event loop.
 */
import { UsernetDebugSession } from './session';

const session = new UsernetDebugSession();
// stdout carries DAP: anything else printed there would corrupt the stream.
console.log = console.info = console.warn = (...args: unknown[]) => process.stderr.write(`${args.map(String).join(' ')}\n`);
process.on('SIGTERM', () => process.exit(0));
session.start(process.stdin, process.stdout);
