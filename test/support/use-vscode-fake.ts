/**
 * Makes `require('vscode')` load test/support/vscode-fake.ts. Import this
 * first in a test file, before any module that imports 'vscode'.
 */
import Module from 'node:module';
import { join } from 'node:path';

const fakePath = join(__dirname, 'vscode-fake.ts');
const mod = Module as unknown as { _resolveFilename: (request: string, ...rest: unknown[]) => string };
const original = mod._resolveFilename;
if (!(original as { usernetFake?: boolean }).usernetFake) {
  const patched = function (this: unknown, request: string, ...rest: unknown[]): string {
    return request === 'vscode' ? fakePath : original.call(this, request, ...rest);
  };
  (patched as { usernetFake?: boolean }).usernetFake = true;
  mod._resolveFilename = patched;
}
