/**
 * What the .vsix carries (vsce's own listing, which reads .vscodeignore): the
 * bundles and the media, and none of the sources, tests, scripts or modules.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';

const root = join(__dirname, '..', '..', '..');

test('the .vsix holds dist/ and media/ only (plus the manifest and readme)', () => {
  if (!existsSync(join(root, 'dist/extension.js'))) spawnSync(process.execPath, ['scripts/build.mjs'], { cwd: root, stdio: 'inherit' });
  const vsce = join(root, 'node_modules/@vscode/vsce/vsce');
  const r = spawnSync(process.execPath, [vsce, 'ls', '--no-dependencies'], { cwd: root, encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  const files = r.stdout.split('\n').map((l) => l.trim()).filter(Boolean);
  const outside = files.filter((f) => !/^(dist|media)\//.test(f) && !/^(package\.json|README\.md|LICENSE(\.md|\.txt)?|CHANGELOG\.md)$/.test(f));
  assert.deepEqual(outside, [], 'nothing outside dist/ and media/');
  for (const f of ['package.json', 'dist/extension.js', 'dist/profile-server.js', 'dist/webview/console.js', 'dist/webview/console.css', 'dist/v86/v86.wasm', 'media/console.css', 'media/icon.png', 'media/guest/bzImage']) {
    assert.ok(files.includes(f), `${f} is shipped`);
  }
  assert.ok(!files.some((f) => /^(extension|test|scripts|bench|node_modules|webview)\//.test(f) || f.endsWith('.ts') && !f.endsWith('.d.ts')));
});

test('README.md has no relative links: vsce package refuses them without a repository URL', () => {
  const readme = readFileSync(join(__dirname, '../../../README.md'), 'utf8');
  const relative = [...readme.matchAll(/\]\((?!https?:|#|mailto:)([^)]+)\)/g)].map((m) => m[1]);
  assert.deepEqual(relative, []);
});
