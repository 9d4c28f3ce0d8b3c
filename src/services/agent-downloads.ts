// The agent executables this server offers for download (built by `npm run build:agent`, see
// docs/agent.md), each with its SHA-256 so a person can check what they run. Only files named as the
// build names them are listed or served, so the directory cannot leak anything else. The digest is
// computed by the server from the file itself, once per file version (size and modification time).
import { createHash } from 'node:crypto';
import { createReadStream, existsSync } from 'node:fs';
import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const AGENT_OSES = ['linux', 'macos', 'windows'] as const;
export const AGENT_ARCHES = ['x64', 'arm64'] as const;
export type AgentOs = (typeof AGENT_OSES)[number];
export type AgentArch = (typeof AGENT_ARCHES)[number];

/** The names scripts/build-agent.mjs gives its output: tessera-agent-<os>-<arch>, .exe on Windows. */
export const AGENT_FILE_PATTERN = '^tessera-agent-(linux|macos|windows)-(x64|arm64)(\\.exe)?$';
const AGENT_FILE = new RegExp(AGENT_FILE_PATTERN);

export interface AgentDownload {
  file: string;
  os: AgentOs;
  arch: AgentArch;
  size: number;
  /** Hex SHA-256 of the file's bytes. */
  sha256: string;
  /** When the file was written (its modification time). */
  builtAt: Date;
}

/** What a file name says about its build; null for anything that is not an agent executable. */
export function parseAgentFile(file: string): { os: AgentOs; arch: AgentArch } | null {
  const m = AGENT_FILE.exec(file);
  if (!m) return null;
  const os = m[1] as AgentOs;
  // Windows executables end in .exe, the others never do.
  if ((os === 'windows') !== (m[3] === '.exe')) return null;
  return { os, arch: m[2] as AgentArch };
}

/** dist/downloads beside the built server, or the repository's dist/downloads when run from source. */
export function defaultDownloadsDir(): string | null {
  for (const rel of ['../downloads/', '../../dist/downloads/']) {
    const dir = fileURLToPath(new URL(rel, import.meta.url));
    if (existsSync(dir)) return dir;
  }
  return null;
}

function sha256Of(path: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const hash = createHash('sha256');
    createReadStream(path)
      .on('data', (chunk) => hash.update(chunk))
      .on('error', reject)
      .on('end', () => resolve(hash.digest('hex')));
  });
}

export class AgentDownloads {
  private readonly digests = new Map<string, { version: string; digest: Promise<string> }>();

  /** `dir` null: nothing is offered (the executable has not been built). */
  constructor(readonly dir: string | null) {}

  /** Every agent executable present, by file name. */
  async list(): Promise<AgentDownload[]> {
    if (!this.dir) return [];
    let names: string[];
    try {
      names = await readdir(this.dir);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw e;
    }
    const found = await Promise.all(names.filter((n) => parseAgentFile(n)).map((n) => this.find(n)));
    return found
      .filter((d): d is AgentDownload => d !== null)
      .sort((a, b) => (a.file < b.file ? -1 : a.file > b.file ? 1 : 0));
  }

  /** The named executable with its digest, or null when there is no such file. */
  async find(file: string): Promise<AgentDownload | null> {
    const build = parseAgentFile(file);
    if (!build || !this.dir) return null;
    const path = join(this.dir, file);
    let st;
    try {
      st = await stat(path);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw e;
    }
    if (!st.isFile()) return null;
    // A rebuilt file (new size or time) is hashed again; the same version only once, even when
    // several requests ask at the same moment.
    const version = `${st.size}:${st.mtimeMs}`;
    let entry = this.digests.get(file);
    if (!entry || entry.version !== version) {
      entry = { version, digest: sha256Of(path) };
      this.digests.set(file, entry);
      const mine = entry;
      mine.digest.catch(() => {
        if (this.digests.get(file) === mine) this.digests.delete(file);
      });
    }
    return { file, ...build, size: st.size, sha256: await entry.digest, builtAt: st.mtime };
  }

  /** The file's path, for streaming it (after find() said it exists). */
  pathOf(file: string): string {
    if (!parseAgentFile(file) || !this.dir) throw new Error(`${file} is not an agent executable`);
    return join(this.dir, file);
  }
}
