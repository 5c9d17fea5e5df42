/** `usernet cache`: the snapshot cache, listed or cleared. */
import { parseArgs } from 'node:util';
import { clearSnapshots, listSnapshots, snapshotDir, type CachedSnapshot } from '../machine/snapshot-cache';
import { UsageError } from './usage-error';

export const CACHE_HELP = `usage: usernet cache [list | clear]

Lists (the default) or deletes the post-boot snapshots kept in
${snapshotDir()}
($USERNET_CACHE_DIR, else $XDG_CACHE_HOME/usernet). A snapshot is checked
before each restore and a bad one is deleted on its own; 'clear' also removes
what an interrupted write left behind.
`;

const MiB = 1024 * 1024;

function row(s: CachedSnapshot): string {
  return `${(s.bytes / MiB).toFixed(1).padStart(7)} MiB  ${s.createdAt.toISOString().replace(/\.\d+Z$/, 'Z')}  ${s.file}${s.partial ? '  (unfinished write)' : ''}`;
}

export function cacheCommand(argv: string[]): number {
  const { values, positionals } = parseArgs({ args: argv, strict: true, allowPositionals: true, options: { help: { type: 'boolean', short: 'h' } } });
  if (values.help) {
    process.stdout.write(CACHE_HELP);
    return 0;
  }
  const [action = 'list', ...extra] = positionals;
  if (extra.length) throw new UsageError(`unexpected argument '${extra[0]}' (see usernet cache --help)`);
  if (action === 'list') {
    const all = listSnapshots();
    if (!all.length) process.stdout.write(`no snapshots in ${snapshotDir()}\n`);
    for (const s of all) process.stdout.write(`${row(s)}\n`);
    return 0;
  }
  if (action === 'clear') {
    const gone = clearSnapshots();
    const bytes = gone.reduce((n, s) => n + s.bytes, 0);
    process.stdout.write(`deleted ${gone.length} file${gone.length === 1 ? '' : 's'} (${(bytes / MiB).toFixed(1)} MiB) from ${snapshotDir()}\n`);
    return 0;
  }
  throw new UsageError(`unknown cache action '${action}': expected list or clear`);
}
