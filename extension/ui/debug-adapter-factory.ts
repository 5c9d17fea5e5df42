/**
 * Runs the debug adapter (and so the VM) in a Node process of its own, out of
 * the extension host: a busy emulator must never stall the editor.
 */
import * as vscode from 'vscode';

export class UsernetAdapterFactory implements vscode.DebugAdapterDescriptorFactory {
  constructor(private readonly extensionUri: vscode.Uri) {}

  createDebugAdapterDescriptor(): vscode.DebugAdapterDescriptor {
    const adapter = vscode.Uri.joinPath(this.extensionUri, 'dist', 'adapter.js').fsPath;
    // Under Electron, execPath is the editor binary: this variable makes it a plain Node.
    return new vscode.DebugAdapterExecutable(process.execPath, [adapter], {
      env: { ELECTRON_RUN_AS_NODE: '1' },
    });
  }
}
