// The wallet runs the card application in a browser: bundled for the browser platform it must need
// nothing of Node (no node: module, and no Buffer in our code), or the phone's wallet would not load.
import { build, type BuildOptions } from 'esbuild';
import { describe, expect, it } from 'vitest';

const entry: BuildOptions['stdin'] = {
  contents: [
    "export { PivCardApplication } from './src/cards/emulator/piv-card-application.ts';",
    "export { WebCardCrypto } from './src/cards/emulator/web-card-crypto.ts';",
    "export { newCardState } from './src/cards/emulator/card-state.ts';",
  ].join('\n'),
  resolveDir: process.cwd(),
  loader: 'ts',
};

async function bundle(opts: BuildOptions): Promise<{ errors: string[]; code: string }> {
  try {
    const r = await build({
      stdin: entry,
      bundle: true,
      platform: 'browser',
      format: 'esm',
      write: false,
      logLevel: 'silent',
      ...opts,
    });
    return { errors: [], code: r.outputFiles![0]!.text };
  } catch (e) {
    return { errors: ((e as { errors?: { text: string }[] }).errors ?? []).map((x) => x.text), code: '' };
  }
}

describe('the card application in a browser bundle', () => {
  it('bundles for the browser with its libraries and no Node built-ins', async () => {
    expect((await bundle({})).errors).toEqual([]);
  });

  it('uses no Buffer in our own code', async () => {
    const ours = await bundle({ packages: 'external' });
    expect(ours.errors).toEqual([]);
    expect(ours.code).toContain('PivCardApplication');
    expect(ours.code).not.toMatch(/\bBuffer\b/);
  });
});
