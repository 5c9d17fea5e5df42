/**
 * Entry point of the profile language server process. The transport (--stdio,
 * --node-ipc, --socket=N) comes from the command line, as VS Code's client passes it.
 */
import { createConnection, ProposedFeatures } from 'vscode-languageserver/node';
import { startProfileServer } from './server';

startProfileServer(createConnection(ProposedFeatures.all));
