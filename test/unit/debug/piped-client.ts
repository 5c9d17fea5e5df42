import type { Readable, Writable } from 'node:stream';
import { DebugClient } from '@vscode/debugadapter-testsupport';

/** A DebugClient over streams the test owns (an in-process session, or a child it spawned and watches). */
export class PipedDebugClient extends DebugClient {
  constructor() {
    super('node', 'unused', 'usernet');
  }

  attach(fromAdapter: Readable, toAdapter: Writable): this {
    this.connect(fromAdapter, toAdapter);
    return this;
  }
}
