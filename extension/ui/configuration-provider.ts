/**
 * Launch configurations for `usernet`: the bundled guest needs none at all
 * (F5 in a folder without launch.json boots it, or the `.qemu` profile open
 * in the editor), and relative paths in a configuration are taken from the
 * workspace folder.
 */
import * as path from 'node:path';
import * as vscode from 'vscode';
import { engineForLaunch, profileDebugConfiguration } from './profile-commands';
import { PROFILE_LANGUAGE } from './profile-language';
import { DEBUG_TYPE } from './vm-sessions';

export const DEFAULT_CONFIGURATION: vscode.DebugConfiguration = {
  type: DEBUG_TYPE,
  request: 'launch',
  name: 'Usernet VM',
  engine: 'embedded',
};

const PATH_ATTRIBUTES = ['kernel', 'initrd', 'pcap', 'profile'] as const;

/**
 * What the Run and Debug picker offers without a launch.json (the Dynamic
 * trigger). "create a launch.json file" writes package.json's
 * initialConfigurations and adds what Initial-trigger providers return, so
 * the provider below returns none there: one configuration, not the same twice.
 */
export function dynamicConfigurations(): vscode.DebugConfiguration[] {
  return [{ ...DEFAULT_CONFIGURATION }];
}

export class UsernetConfigurationProvider implements vscode.DebugConfigurationProvider {

  resolveDebugConfiguration(_folder: vscode.WorkspaceFolder | undefined, config: vscode.DebugConfiguration): vscode.DebugConfiguration {
    // No launch.json (or an empty one): the profile in the editor, else the bundled guest.
    if (!config.type && !config.request && !config.name) return profileInEditor() ?? { ...DEFAULT_CONFIGURATION };
    return {
      ...config,
      type: config.type || DEBUG_TYPE,
      request: config.request || 'launch',
      name: config.name || DEFAULT_CONFIGURATION.name,
    };
  }

  resolveDebugConfigurationWithSubstitutedVariables(folder: vscode.WorkspaceFolder | undefined, config: vscode.DebugConfiguration): vscode.DebugConfiguration {
    const base = folder?.uri.fsPath;
    if (!base) return config;
    const resolved = { ...config };
    for (const key of PATH_ATTRIBUTES) {
      const value = resolved[key];
      if (typeof value === 'string' && value && !path.isAbsolute(value)) resolved[key] = path.join(base, value);
    }
    return resolved;
  }
}

function profileInEditor(): vscode.DebugConfiguration | undefined {
  const doc = vscode.window.activeTextEditor?.document;
  if (doc?.languageId !== PROFILE_LANGUAGE || doc.uri.scheme !== 'file') return undefined;
  return profileDebugConfiguration(doc.uri, { noDebug: false, engine: engineForLaunch(doc.getText()) });
}
