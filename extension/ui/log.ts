/** The extension's log: a LogOutputChannel in VS Code, anything with these methods in tests. */
export interface Log {
  info(message: string): void;
  warn(message: string): void;
  error(message: string): void;
}
