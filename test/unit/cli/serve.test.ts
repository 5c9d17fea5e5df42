import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { test } from 'node:test';
import { exposedListenWarning } from '../../../extension/cli/serve';

const cli = resolve(__dirname, '../../../extension/cli.ts');

/** Runs `usernet serve ARGS` to its end (each case here fails before serving). */
function serve(args: string[]): Promise<{ status: number | null; stderr: string }> {
  const child = spawn(process.execPath, ['--import', 'tsx', cli, 'serve', ...args], { env: { ...process.env, USERNET_DEBUG: '' } });
  let stderr = '';
  child.stderr.on('data', (c) => (stderr += c));
  const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
  return new Promise((r) => child.on('close', (status) => (clearTimeout(timer), r({ status, stderr }))));
}

test('a socket path in a directory that does not exist is refused with ENOENT and the directory, not EACCES', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'usernet-serve-'));
  try {
    const missing = await serve(['--socket', join(dir, 'missing', 'net.sock')]);
    assert.equal(missing.status, 1, missing.stderr);
    assert.equal(
      missing.stderr,
      `usernet: cannot listen on ${join(dir, 'missing', 'net.sock')}: ENOENT: the socket's directory ${join(dir, 'missing')} does not exist: create it or choose another path\n`,
    );
    writeFileSync(join(dir, 'file'), '');
    const notDir = await serve(['--socket', join(dir, 'file', 'net.sock')]);
    assert.equal(notDir.status, 1, notDir.stderr);
    assert.match(notDir.stderr, /ENOTDIR: the socket's directory .*\/file is not a directory/);
    assert.doesNotMatch(missing.stderr + notDir.stderr, /EACCES|permission/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('--listen on an address other machines reach is warned about; loopback is not', async () => {
  for (const host of ['0.0.0.0', '::', '192.168.1.10', 'example.test']) assert.match(exposedListenWarning(host) ?? '', /other machines.*loopback services through 10\.0\.2\.2/, host);
  for (const host of ['127.0.0.1', '127.3.2.1', '::1', 'localhost']) assert.equal(exposedListenWarning(host), undefined, host);
  // The CLI prints it before listening; the port is held on loopback so nothing is ever exposed.
  const holder = net.createServer();
  await new Promise<void>((r) => holder.listen(0, '127.0.0.1', r));
  try {
    const port = (holder.address() as net.AddressInfo).port;
    const r = await serve(['--listen', `0.0.0.0:${port}`]);
    assert.equal(r.status, 1, r.stderr);
    assert.match(r.stderr, /^usernet: warning: --listen 0\.0\.0\.0 accepts connections from other machines/);
    assert.match(r.stderr, new RegExp(`cannot listen on 0\\.0\\.0\\.0:${port}: it is in use`));
  } finally {
    holder.close();
  }
});

test('a --netem rule on a stage that is QEMU\'s (every serve guest is QEMU\'s) is warned about before serving', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'usernet-serve-'));
  try {
    const r = await serve(['--socket', join(dir, 'missing', 'net.sock'), '--netem', 'qemu_receive_packet: delay 5ms', '--netem', 'ip_output: delay 5ms']);
    assert.match(r.stderr, /^usernet: warning: --netem 'qemu_receive_packet: delay 5ms': qemu_receive_packet is QEMU's under the QEMU engine, not ours: .* put it on net_slirp_send_packet\n/);
    assert.doesNotMatch(r.stderr, /ip_output/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
