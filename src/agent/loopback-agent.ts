// An agent inside the server's own process: the real agent client, connected over a loopback
// WebSocket to this server, for readers that live in the process (the demo agents of `tessera
// start`). Every APDU takes the path a workstation agent's takes; only the readers are virtual.
import type { ReaderSet } from '../cards/transport/types.js';
import { AgentClient } from './agent-client.js';
import { FolderPrinter } from './folder-printer.js';
import { AgentPrinters } from './printers.js';

export interface LoopbackAgent {
  ownerUsername: string;
  token: string;
  readers: ReaderSet;
  /** The demo's virtual card printer: jobs written as PDFs to a folder. */
  printer?: { name: string; encoder: string; folder: string; onPrinted(file: string): Promise<void> };
}

/** Connects in-process readers to the server at `serverUrl` (http://127.0.0.1:PORT) as agents. */
export function loopbackAgents(serverUrl: string, log?: (line: string) => void) {
  return ({ ownerUsername, token, readers, printer }: LoopbackAgent): AgentClient =>
    new AgentClient({
      server: serverUrl,
      token,
      readers,
      ...(printer
        ? {
            printers: new AgentPrinters([
              new FolderPrinter(printer.name, printer.encoder, printer.folder, printer.onPrinted),
            ]),
          }
        : {}),
      hostname: 'tessera-demo',
      // A loopback server answers at once: retry fast, so a restart of the socket is not noticed.
      backoff: { initialMs: 200, maxMs: 5_000 },
      log: log ? (l) => log(`demo agent (${ownerUsername}): ${l}`) : undefined,
    });
}
