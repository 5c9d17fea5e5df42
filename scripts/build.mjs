// Bundles every entry point with esbuild. Node entries are CommonJS (VS Code's
// extension host loads CJS); the webview is an IIFE for the browser.
import * as esbuild from 'esbuild';
import { copyFileSync, cpSync, existsSync, mkdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { writeProbeLocations } from './probe-locations.mjs';

const watch = process.argv.includes('--watch');

const node = {
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'cjs',
  sourcemap: true,
  logLevel: 'warning',
  // v86 is loaded at run time from node_modules (its wasm sits beside it); koffi loads a native binary.
  external: ['vscode', 'v86', 'koffi'],
  // jsonc-parser's UMD build requires its parts at run time, which a bundle cannot follow: take its ES build.
  alias: { 'jsonc-parser': './node_modules/jsonc-parser/lib/esm/main.js' },
};

const entries = [
  { ...node, entryPoints: { cli: 'extension/cli.ts' }, outdir: 'dist' },
  { ...node, entryPoints: { extension: 'extension/main.ts' }, outdir: 'dist' },
  { ...node, entryPoints: { adapter: 'extension/debug/adapter-main.ts' }, outdir: 'dist' },
  { ...node, entryPoints: { 'profile-server': 'extension/profile/server-main.ts' }, outdir: 'dist' },
  {
    bundle: true, platform: 'browser', target: 'es2022', format: 'iife', sourcemap: true,
    logLevel: 'warning',
    entryPoints: { console: 'webview/console/main.ts', topology: 'webview/topology/main.ts', flow: 'webview/flow/main.ts', capture: 'webview/capture/main.ts' }, outdir: 'dist/webview',
    loader: { '.css': 'css' },
  },
].filter((e) => Object.values(e.entryPoints).every((p) => existsSync(p)));

// v86 stays outside the bundles (an ES module with its wasm beside it): ship
// its two files in dist/v86/ so the packaged extension needs no node_modules.
const v86Dir = dirname(createRequire(import.meta.url).resolve('v86'));
mkdirSync('dist/v86', { recursive: true });
for (const f of ['libv86.mjs', 'v86.wasm']) copyFileSync(join(v86Dir, f), join('dist/v86', f));

// koffi (the FFI behind ping forwarding, slirp/ping-socket.ts) stays outside the
// bundles too: its loader and this platform's binary go to dist/node_modules,
// where require('koffi') from a bundle finds them, in the layout its loader expects.
const requireHere = createRequire(import.meta.url);
const koffiDir = dirname(requireHere.resolve('koffi'));
const koffiFiles = ['package.json', 'index.cjs', 'LICENSE.txt', 'src/koffi/index.cjs', 'src/koffi/src/static.cjs'];
for (const f of koffiFiles) {
  mkdirSync(dirname(join('dist/node_modules/koffi', f)), { recursive: true });
  copyFileSync(join(koffiDir, f), join('dist/node_modules/koffi', f));
}
const koffiPlatform = `@koromix/koffi-${process.platform}-${process.arch}`;
try {
  const from = dirname(createRequire(join(koffiDir, 'index.cjs')).resolve(`${koffiPlatform}/package.json`));
  cpSync(from, join('dist/node_modules', koffiPlatform), { recursive: true });
} catch {
  console.warn(`build: no ${koffiPlatform} installed: the build forwards no pings on this platform`);
}

// Where each stage's probe sits in the source, for the debug adapter's call stacks.
writeProbeLocations();

if (watch) {
  for (const e of entries) await (await esbuild.context(e)).watch();
} else {
  await Promise.all(entries.map((e) => esbuild.build(e)));
}
