/** One completion of a profile, as the language server turns it into an LSP CompletionItem (server.ts). */
export interface CompletionEntry {
  readonly label: string;
  readonly kind: 'option' | 'suboption' | 'value';
  readonly detail?: string;
  readonly documentation?: string;
  readonly insertText: string;
  /** Offsets of the text the entry replaces (end is the cursor). */
  readonly replaceStart: number;
  readonly replaceEnd: number;
}
