/**
 * `Usernet: Launch Profile` and `Usernet: Debug Profile`: the `.qemu` file's
 * Launch / Debug lenses, its editor title buttons and the palette. Each starts
 * a `usernet` debug session with the profile, as a launch.json entry
 * `"profile": "vm.qemu"` would.
 */
import * as path from 'node:path';
import * as vscode from 'vscode';
import type { EngineKind } from '../pipeline/stages';
import { DEBUG_COMMAND, findEngineDirective, lexProfile, LAUNCH_COMMAND } from '../profile';
import type { Log } from './log';
import { isProfileDocument, profileEngineSetting } from './profile-language';
import { DEBUG_TYPE } from './vm-sessions';

export { LAUNCH_COMMAND, DEBUG_COMMAND };

export interface ProfileLaunch {
  /** Run without stopping at breakpoints (VS Code's Run Without Debugging). */
  readonly noDebug: boolean;
  /** Only when the profile names none itself: the `usernet.profileEngine` setting, which the diagnostics assumed too. */
  readonly engine?: EngineKind;
}

export function profileDebugConfiguration(profile: vscode.Uri, launch: ProfileLaunch): vscode.DebugConfiguration {
  return {
    type: DEBUG_TYPE,
    request: 'launch',
    name: `Usernet: ${path.basename(profile.fsPath)}`,
    profile: profile.fsPath,
    ...(launch.engine ? { engine: launch.engine } : {}),
    ...(launch.noDebug ? { noDebug: true } : {}),
  };
}

/**
 * The engine to ask for so that what runs is what the diagnostics checked
 * against: the profile's own `# usernet: engine=` comment wins (the launch
 * honours it when no engine is given), else the setting. Embedded is the
 * launch's own default, so it is never spelled out.
 */
export function engineForLaunch(profileText: string): EngineKind | undefined {
  if (findEngineDirective(lexProfile(profileText))) return undefined;
  return profileEngineSetting() === 'qemu' ? 'qemu' : undefined;
}

/** The lenses pass the document's URI as a string; menus pass a Uri; the palette passes nothing. */
function uriOf(arg: unknown): vscode.Uri | undefined {
  if (arg instanceof vscode.Uri) return arg;
  if (typeof arg === 'string' && arg) return vscode.Uri.parse(arg);
  return undefined;
}

const refuse = (text: string): undefined => {
  void vscode.window.showErrorMessage(`Usernet: ${text}`);
  return undefined;
};

async function profileDocument(arg: unknown, verb: string): Promise<vscode.TextDocument | undefined> {
  const uri = uriOf(arg);
  let doc: vscode.TextDocument | undefined;
  if (uri) {
    try {
      doc = await vscode.workspace.openTextDocument(uri);
    } catch (e) {
      return refuse(`cannot ${verb} ${uri.fsPath}: ${e instanceof Error ? e.message : String(e)}`);
    }
    if (!isProfileDocument(doc)) return refuse(`cannot ${verb} ${uri.fsPath}: it is not a QEMU command line (a .qemu profile).`);
  } else {
    doc = vscode.window.activeTextEditor?.document;
    if (!doc || !isProfileDocument(doc)) {
      return refuse(`no QEMU profile to ${verb}: open a .qemu file (a QEMU command line) in the editor, then run the command again.`);
    }
  }
  if (doc.isUntitled || doc.uri.scheme !== 'file') {
    return refuse(`cannot ${verb} ${doc.uri.toString()}: the VM reads its profile from disk, so save it as a .qemu file first.`);
  }
  // The debug adapter reads the file, not the editor: what is launched must be what the user sees.
  if (doc.isDirty && !(await doc.save())) return refuse(`cannot ${verb} ${doc.uri.fsPath}: saving the profile's changes failed.`);
  return doc;
}

export async function launchProfile(arg: unknown, noDebug: boolean, log: Log): Promise<boolean> {
  const doc = await profileDocument(arg, noDebug ? 'launch' : 'debug');
  if (!doc) return false;
  const config = profileDebugConfiguration(doc.uri, { noDebug, engine: engineForLaunch(doc.getText()) });
  const folder = vscode.workspace.getWorkspaceFolder(doc.uri) ?? vscode.workspace.workspaceFolders?.[0];
  log.info(`${noDebug ? 'launching' : 'debugging'} the profile ${doc.uri.fsPath}${config.engine ? ` (engine ${config.engine})` : ''}`);
  const started = await vscode.debug.startDebugging(folder, config, { noDebug });
  if (!started) log.warn(`the VM debug session for ${doc.uri.fsPath} did not start (VS Code reported the reason)`);
  return started;
}

/** "Open QEMU Profile…": a .qemu file picked from disk, opened in the editor (F5 then launches it). */
async function openProfile(): Promise<void> {
  const [uri] = await vscode.window.showOpenDialog({
    title: 'Open a QEMU profile', canSelectMany: false, filters: { 'QEMU profile': ['qemu'] },
    defaultUri: vscode.workspace.workspaceFolders?.[0]?.uri,
  }) ?? [];
  if (uri) await vscode.window.showTextDocument(uri);
}

export function registerProfileCommands(log: Log): vscode.Disposable[] {
  return [
    vscode.commands.registerCommand('usernet.openProfile', () => openProfile()),
    vscode.commands.registerCommand(LAUNCH_COMMAND, (arg?: unknown) => launchProfile(arg, true, log)),
    vscode.commands.registerCommand(DEBUG_COMMAND, (arg?: unknown) => launchProfile(arg, false, log)),
  ];
}
