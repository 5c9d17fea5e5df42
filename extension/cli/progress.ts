/**
 * Progress on stderr: one updating line when stderr is a terminal, plain
 * lines otherwise (CI logs, pipes).
 */
export class Progress {
  private lineOpen = false;
  constructor(private readonly stream: NodeJS.WriteStream = process.stderr, private readonly quiet = false) {}

  update(message: string): void {
    if (this.quiet) return;
    if (this.stream.isTTY) {
      this.stream.write(`\r\x1b[2Kusernet: ${message}…`);
      this.lineOpen = true;
    } else {
      this.stream.write(`usernet: ${message}\n`);
    }
  }

  /** Ends the updating line with a final message. */
  done(message: string): void {
    if (this.quiet) return;
    if (this.lineOpen) this.stream.write('\r\x1b[2K');
    this.lineOpen = false;
    this.stream.write(`usernet: ${message}\n`);
  }
}
