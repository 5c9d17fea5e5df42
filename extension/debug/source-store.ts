/**
 * Gives the debugger the TypeScript a probe sits in: its path on disk when the
 * source tree is there (running from source, a development checkout), else the
 * text kept in the bundle's source map (`sourcesContent`), served through a
 * `sourceReference` and the DAP `source` request.
 */
import { existsSync, readFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import type { DebugProtocol } from '@vscode/debugprotocol';

interface SourceMapFile {
  sources?: unknown;
  sourcesContent?: unknown;
}

export class SourceStore {
  private map: { files: Map<string, number>; contents: (string | null)[] } | undefined;

  /**
   * @param root the source tree's root, if there is one
   * @param sourceMapFile the bundle's map (dist/adapter.js.map), read on first need
   */
  constructor(private readonly root: string | undefined, private readonly sourceMapFile: string | undefined) {}

  /** A DAP source for `file` (relative to the repository root, '/'-separated), or undefined when it is nowhere. */
  source(file: string): DebugProtocol.Source | undefined {
    if (this.root) {
      const path = join(this.root, file);
      if (existsSync(path)) return { name: basename(file), path };
    }
    const index = this.loadMap()?.files.get(file);
    if (index === undefined) return undefined;
    return { name: basename(file), sourceReference: index + 1, origin: 'bundled source', presentationHint: 'normal' };
  }

  /** The text behind a sourceReference this store handed out. */
  content(sourceReference: number): string | undefined {
    return this.loadMap()?.contents[sourceReference - 1] ?? undefined;
  }

  private loadMap() {
    if (this.map || !this.sourceMapFile) return this.map;
    const files = new Map<string, number>();
    let contents: (string | null)[] = [];
    try {
      const raw = JSON.parse(readFileSync(this.sourceMapFile, 'utf8')) as SourceMapFile;
      const sources = Array.isArray(raw.sources) ? raw.sources : [];
      contents = Array.isArray(raw.sourcesContent) ? raw.sourcesContent.map((c) => (typeof c === 'string' ? c : null)) : [];
      sources.forEach((s, i) => {
        // esbuild writes paths relative to the map ("../extension/slirp/slirp.ts").
        if (typeof s === 'string') files.set(s.replace(/\\/g, '/').replace(/^(\.\.\/)+/, ''), i);
      });
    } catch {
      // No map (or a damaged one): frames simply have no source.
    }
    this.map = { files, contents };
    return this.map;
  }
}

/** The bundle's source map when running bundled (dist/adapter.js). */
export function bundleSourceMap(dir: string): string | undefined {
  const f = join(dir, 'adapter.js.map');
  return existsSync(f) ? f : undefined;
}
