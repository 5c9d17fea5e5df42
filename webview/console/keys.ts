/**
 * Copy and paste the way VS Code's terminal does it: Ctrl+C copies when text
 * is selected and is ^C otherwise; Ctrl+V (and Ctrl+Shift+C/V) are left to the
 * browser, whose paste event xterm turns into input.
 */
export interface KeyActions {
  hasSelection(): boolean;
  /** Copies the selection (and clears it, as terminals do). */
  copySelection(): void;
}

/** The attachCustomKeyEventHandler callback: false means "xterm, leave this key alone". */
export function clipboardKeyHandler(actions: KeyActions): (e: KeyboardEvent) => boolean {
  return (e) => {
    if (e.type !== 'keydown') return true;
    const mod = (e.ctrlKey || e.metaKey) && !e.altKey;
    if (!mod) return true;
    const key = e.key.toLowerCase();
    if (key === 'c' && (e.shiftKey || actions.hasSelection())) {
      if (actions.hasSelection()) actions.copySelection();
      return false;
    }
    if (key === 'v') return false; // the browser's paste event follows
    return true;
  };
}
