/**
 * xterm colours from VS Code's theme. VS Code sets its colours as CSS custom
 * properties on the webview's <html> element and a vscode-light / vscode-dark /
 * vscode-high-contrast class on <body>; the integrated terminal's own colours
 * win, the editor's are the fallback.
 */
import type { ITheme } from '@xterm/xterm';

const ANSI = [
  'black', 'red', 'green', 'yellow', 'blue', 'magenta', 'cyan', 'white',
  'brightBlack', 'brightRed', 'brightGreen', 'brightYellow', 'brightBlue', 'brightMagenta', 'brightCyan', 'brightWhite',
] as const;

type Lookup = (name: string) => string;

/** Reads `--vscode-…` properties through `get` (getComputedStyle in the page). */
export function themeFromVariables(get: Lookup): ITheme {
  const v = (...names: string[]): string | undefined => {
    for (const n of names) {
      const value = get(`--vscode-${n}`).trim();
      if (value) return value;
    }
    return undefined;
  };
  const theme: ITheme = {
    background: v('terminal-background', 'panel-background', 'editor-background'),
    foreground: v('terminal-foreground', 'editor-foreground'),
    cursor: v('terminalCursor-foreground', 'terminal-foreground', 'editor-foreground'),
    cursorAccent: v('terminalCursor-background', 'terminal-background', 'editor-background'),
    selectionBackground: v('terminal-selectionBackground', 'editor-selectionBackground'),
    selectionForeground: v('terminal-selectionForeground'),
    selectionInactiveBackground: v('terminal-inactiveSelectionBackground', 'editor-inactiveSelectionBackground'),
    scrollbarSliderBackground: v('scrollbarSlider-background'),
    scrollbarSliderHoverBackground: v('scrollbarSlider-hoverBackground'),
    scrollbarSliderActiveBackground: v('scrollbarSlider-activeBackground'),
  };
  for (const name of ANSI) {
    const cssName = `terminal-ansi${name[0]!.toUpperCase()}${name.slice(1)}`;
    const value = v(cssName);
    if (value) theme[name] = value;
  }
  // Leave out what the theme does not say, so xterm keeps its own default.
  for (const k of Object.keys(theme) as (keyof ITheme)[]) if (theme[k] === undefined) delete theme[k];
  return theme;
}

export interface FontSettings {
  fontFamily?: string;
  fontSize?: number;
}

export function fontFromVariables(get: Lookup): FontSettings {
  const family = get('--vscode-editor-font-family').trim();
  const size = Number.parseFloat(get('--vscode-editor-font-size'));
  return {
    ...(family ? { fontFamily: family } : {}),
    ...(Number.isFinite(size) && size > 0 ? { fontSize: size } : {}),
  };
}
