/**
 * The `.qemu` profile language as the editor knows it: its id and the
 * setting that says which engine a profile without `# usernet: engine=` runs on.
 */
import * as vscode from 'vscode';
import type { EngineKind } from '../pipeline/stages';

/** The language id of QEMU command lines (package.json "languages"). */
export const PROFILE_LANGUAGE = 'qemu-cmdline';
export const PROFILE_EXTENSION = '.qemu';

export function profileEngineSetting(): EngineKind {
  const value = vscode.workspace.getConfiguration('usernet').get<string>('profileEngine');
  return value === 'qemu' ? 'qemu' : 'embedded';
}

/** A profile by language mode, or by name when the user has set another mode on it. */
export function isProfileDocument(doc: vscode.TextDocument): boolean {
  return doc.languageId === PROFILE_LANGUAGE || doc.uri.path.toLowerCase().endsWith(PROFILE_EXTENSION);
}
