// The agent as a download: the executables this server offers (GET /api/downloads), each with its
// SHA-256 and how to check it, and the command that runs the one for this computer. Said plainly
// when none has been built, rather than offering a link that leads nowhere. The user portal and the
// operator's Agents page show it, in words for each audience.
import { request } from '../api';
import { useLoad, type Loaded } from '../hooks';
import { CopyButton } from './CopyButton';
import { ErrorPanel } from './ErrorPanel';

export type AgentOs = 'linux' | 'macos' | 'windows';

/** One executable, as GET /api/downloads lists it. */
export interface AgentBuild {
  file: string;
  os: AgentOs;
  arch: 'x64' | 'arm64';
  size: number;
  sha256: string;
  builtAt: string;
  url: string;
  checksumUrl: string;
}

const OS_NAME: Record<AgentOs, string> = { linux: 'Linux', macos: 'macOS', windows: 'Windows' };

/** The browser's operating system, as far as its user agent tells (null: cannot say). */
export function guessOs(userAgent: string = navigator.userAgent): AgentOs | null {
  if (/Windows/i.test(userAgent)) return 'windows';
  if (/Macintosh|Mac OS X/i.test(userAgent)) return 'macos';
  if (/Linux/i.test(userAgent) && !/Android/i.test(userAgent)) return 'linux';
  return null;
}

/** What starts the agent on this computer: the downloaded executable, else the `tessera` command. */
export function agentCommand(builds: AgentBuild[] | undefined, os: AgentOs | null = guessOs()): string {
  const mine = builds?.find((b) => b.os === os);
  if (!mine) return 'tessera agent';
  return mine.os === 'windows' ? `.\\${mine.file}` : `./${mine.file}`;
}

export function useAgentBuilds(): Loaded<AgentBuild[]> {
  return useLoad(
    async () =>
      (await request<{ items: AgentBuild[] }>('GET', '/api/downloads', { redirectOn401: false })).items,
    [],
  );
}

const megabytes = (bytes: number) => `${(bytes / 1e6).toFixed(1)} MB`;

/** The command that prints a file's SHA-256 on its own system. */
function checkCommand(b: AgentBuild): string {
  if (b.os === 'windows') return `certutil -hashfile ${b.file} SHA256`;
  if (b.os === 'macos') return `shasum -a 256 ${b.file}`;
  return `sha256sum ${b.file}`;
}

interface Props {
  builds: Loaded<AgentBuild[]>;
  /** Who reads it: a cardholder in the user portal, or an operator setting up workstations. */
  audience: 'person' | 'operator';
}

export function AgentDownloads({ builds, audience }: Props) {
  if (builds.error) return <ErrorPanel error={builds.error} title="Could not look for the agent download" />;
  if (!builds.data) return <p className="muted">Looking for the agent download…</p>;
  const list = builds.data;
  const missing = (['windows', 'macos', 'linux'] as const).filter((os) => !list.some((b) => b.os === os));
  return (
    <div className="agent-downloads">
      {list.length === 0 ? (
        <p className="notice" role="status">
          {audience === 'person'
            ? 'This server has no agent download yet (it has not been built). Ask your help desk to install the Tessera agent on this computer.'
            : 'This server offers no agent download: the executable has not been built. Build it on the server with '}
          {audience === 'operator' && (
            <>
              <code className="mono">npm run build:agent</code> (part of{' '}
              <code className="mono">npm run build</code>), or point{' '}
              <code className="mono">TESSERA_DOWNLOADS_DIR</code> at the directory holding the executables.
            </>
          )}
        </p>
      ) : (
        <ul className="agent-downloads__list">
          {list.map((b) => (
            <li key={b.file}>
              <a className="btn" href={b.url} download={b.file}>
                Download the agent for {OS_NAME[b.os]} ({b.arch})
              </a>{' '}
              <span className="muted small">
                {b.file}, {megabytes(b.size)}
              </span>
              <p className="small agent-downloads__sha">
                SHA-256 <code className="mono">{b.sha256}</code>{' '}
                <CopyButton text={b.sha256} label="Copy SHA-256" />
              </p>
              <details className="small">
                <summary>Check and run it</summary>
                <p>
                  <code className="mono">{checkCommand(b)}</code> must print the same SHA-256 (or fetch{' '}
                  <a href={b.checksumUrl}>{b.file}.sha256</a> and run{' '}
                  <code className="mono">sha256sum -c {b.file}.sha256</code>).
                  {b.os !== 'windows' && (
                    <>
                      {' '}
                      Then make it runnable: <code className="mono">chmod +x {b.file}</code>.
                    </>
                  )}{' '}
                  It needs no other software except the computer’s smart-card service (PC/SC: built into
                  Windows and macOS, <code className="mono">pcscd</code> on Linux).
                </p>
              </details>
            </li>
          ))}
        </ul>
      )}
      {list.length > 0 && missing.length > 0 && audience === 'person' && (
        <p className="muted small">
          No download for {missing.map((os) => OS_NAME[os]).join(' or ')} here: ask your help desk.
        </p>
      )}
      {audience === 'operator' && missing.length > 0 && (
        <p className="muted small">
          {list.length > 0 && `No ${missing.map((os) => OS_NAME[os]).join(' or ')} build here. `}
          The same script builds the agent on a Windows or macOS computer (
          <code className="mono">npm run build:agent</code> there, with Node.js 20 and pcsclite); copy the
          executable it makes into this server’s downloads directory. Only the Linux x64 build is tested by
          Tessera’s own tests.
        </p>
      )}
    </div>
  );
}
