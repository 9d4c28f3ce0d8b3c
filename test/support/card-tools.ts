// Runs the field's card tools (yubico-piv-tool, OpenSC, openssl) asynchronously: the virtual card
// answers from this same process, so a synchronous spawn would deadlock it.
import { execFile } from 'node:child_process';

export interface ToolResult {
  code: number;
  stdout: string;
  stderr: string;
  /** stdout and stderr together, for assertions on messages the tools print on either. */
  output: string;
}

export function runTool(
  cmd: string,
  args: string[],
  opts: { env?: NodeJS.ProcessEnv; cwd?: string; timeoutMs?: number } = {},
): Promise<ToolResult> {
  return new Promise((resolve) => {
    execFile(
      cmd,
      args,
      {
        env: { ...process.env, ...opts.env },
        cwd: opts.cwd,
        timeout: opts.timeoutMs ?? 60_000,
        encoding: 'utf8',
      },
      (err, stdout, stderr) => {
        const code = err ? (typeof err.code === 'number' ? err.code : 1) : 0;
        resolve({ code, stdout, stderr, output: stdout + stderr });
      },
    );
  });
}

export const OPENSC_PKCS11 = '/usr/lib/x86_64-linux-gnu/opensc-pkcs11.so';

/**
 * The workstation's view of the card in pcscd's virtual reader, through OpenSC's PKCS#11 module,
 * working in `dir`: `sign` signs data.txt with the 9A key (ECDSA-SHA256, after the PIN), `verify`
 * checks a signature with openssl against pub9a.pem, `slots` lists the reader's slots.
 */
export function workstationCard(dir: string, pin: string, timeoutMs = 60_000) {
  return {
    sign: (out: string) =>
      runTool(
        'pkcs11-tool',
        [
          ...['--module', OPENSC_PKCS11, '--login', '--pin', pin, '--sign', '--id', '01'],
          ...['-m', 'ECDSA-SHA256', '--signature-format', 'openssl', '-i', 'data.txt', '-o', out],
        ],
        { cwd: dir, timeoutMs },
      ),
    verify: (sig: string) =>
      runTool('openssl', ['dgst', '-sha256', '-verify', 'pub9a.pem', '-signature', sig, 'data.txt'], {
        cwd: dir,
      }),
    slots: async () =>
      (await runTool('pkcs11-tool', ['--module', OPENSC_PKCS11, '-L'], { cwd: dir, timeoutMs: 30_000 }))
        .output,
  };
}
