/**
 * The boot's progress in DAP: a cancellable progress notification (when the
 * client supports it) and Debug Console lines. The progress notification takes
 * every message; the console, which keeps them all, gets a new kind of message
 * at once and a repeat of the same kind (the wait for a guest's shell ticks
 * every second) only every ECHO_EVERY_MS.
 */
import { OutputEvent, ProgressEndEvent, ProgressStartEvent, ProgressUpdateEvent } from '@vscode/debugadapter';
import type { DebugProtocol } from '@vscode/debugprotocol';

const ECHO_EVERY_MS = 10_000;

export class ProgressEcho {
  private lastHead: string | undefined;
  private lastAt = 0;

  constructor(private readonly print: (text: string) => void, private readonly now: () => number = () => performance.now()) {}

  show(message: string): void {
    // "waiting for the guest's shell: 23 s, last line: ..." is of the kind "waiting for the guest's shell".
    const head = message.split(':', 1)[0];
    const now = this.now();
    if (head === this.lastHead && now - this.lastAt < ECHO_EVERY_MS) return;
    this.lastHead = head;
    this.lastAt = now;
    this.print(`${message}\n`);
  }
}

/** One boot's progress: started at once, updated with each message, ended with how it went. */
export class BootProgress {
  readonly id = `usernet.boot.${Date.now()}`;
  private readonly echo: ProgressEcho;

  constructor(private readonly send: (event: DebugProtocol.Event) => void, private readonly supported: boolean) {
    this.echo = new ProgressEcho((text) => send(new OutputEvent(text, 'console')));
    // Cancel stops the VM, as the stop button does (a guest of the user's may take minutes to its shell).
    if (supported) {
      const start = new ProgressStartEvent(this.id, 'Starting the VM', 'booting the guest') as DebugProtocol.ProgressStartEvent;
      start.body.cancellable = true;
      send(start);
    }
  }

  readonly update = (message: string): void => {
    this.echo.show(message);
    if (this.supported) this.send(new ProgressUpdateEvent(this.id, message));
  };

  end(message: string): void {
    if (this.supported) this.send(new ProgressEndEvent(this.id, message));
  }
}
