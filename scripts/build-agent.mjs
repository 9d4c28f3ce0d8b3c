// Builds the workstation agent as one self-contained executable (a Node.js single executable
// application) for the platform this runs on: dist/downloads/tessera-agent-<os>-<arch>[.exe].
// 1. esbuild bundles src/cli/agent-main.ts and everything it imports into one CommonJS file, with
//    pcsc-addon-sea.ts in place of pcsc-addon.ts (a single executable cannot require packages);
// 2. `node --experimental-sea-config` makes the blob: that bundle plus pcsclite's native addon as
//    an asset (unpacked at run time when PC/SC readers are asked for);
// 3. the blob is injected into a copy of the node binary running this script, with postject.
// Why this shape: docs/decisions/0012-agent-single-executable.md.
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  chmodSync,
  copyFileSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import postject from 'postject';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(import.meta.url);
const started = Date.now();

/** The names the server's downloads use (src/services/downloads.ts). */
const OS = { linux: 'linux', darwin: 'macos', win32: 'windows' }[process.platform];
if (!OS) throw new Error(`build:agent does not know how to name an executable for ${process.platform}`);
const fileName = `tessera-agent-${OS}-${process.arch}${process.platform === 'win32' ? '.exe' : ''}`;
// --out-dir DIR: elsewhere than dist/downloads (the tests build into a temporary directory).
const outFlag = process.argv.indexOf('--out-dir');
const outDir =
  outFlag > 0 && process.argv[outFlag + 1]
    ? resolve(process.argv[outFlag + 1])
    : join(root, 'dist', 'downloads');
const out = join(outDir, fileName);

// The same sentinel Node looks for (doc/api/single-executable-applications.md).
const SEA_FUSE = 'NODE_SEA_FUSE_fce680ab2cc467b6e072b8b5df1996b2';
const seaAddon = join(root, 'src/cards/transport/pcsc-addon-sea.ts');

function canRun(cmd) {
  try {
    execFileSync(cmd, ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/** pcsclite's native addon, when the optional package is installed and built here. */
function findPcscAddon() {
  try {
    const pkg = dirname(require.resolve('pcsclite/package.json'));
    const file = join(pkg, 'build', 'Release', 'pcsclite.node');
    statSync(file);
    return file;
  } catch {
    return null;
  }
}
const pcscAddon = findPcscAddon();
if (!pcscAddon)
  console.warn(
    'build:agent: the optional pcsclite addon is not built here (apt-get install libpcsclite-dev; npm rebuild pcsclite): ' +
      'the executable will work only with --readers memory',
  );

/**
 * The `ipp` package allocates with `new Buffer(n)`. Node warns about that (DEP0005) only for code
 * outside node_modules, which bundled code is: the agent would print a deprecation warning at its
 * first print. `Buffer.alloc(n)` is what `new Buffer(n)` does in today's Node.
 */
const bufferAlloc = {
  name: 'tessera-buffer-alloc',
  setup(b) {
    b.onLoad({ filter: /[\\/]node_modules[\\/]ipp[\\/].+\.js$/ }, (args) => ({
      contents: readFileSync(args.path, 'utf8').replace(/\bnew Buffer\(/g, 'Buffer.alloc('),
      loader: 'js',
    }));
  },
};

/** Points the bundle at the single-executable variants of what cannot be bundled as is. */
const seaPlugin = {
  name: 'tessera-sea',
  setup(b) {
    b.onResolve({ filter: /\/pcsc-addon\.js$/ }, (args) =>
      args.importer.endsWith(join('cards', 'transport', 'pcsc.ts')) ? { path: seaAddon } : undefined,
    );
    // pcsclite's wrapper finds its addon with the `bindings` package, which searches node_modules.
    b.onResolve({ filter: /^bindings$/ }, () => ({ path: 'bindings', namespace: 'tessera-sea' }));
    b.onLoad({ filter: /.*/, namespace: 'tessera-sea' }, () => ({
      contents: `module.exports = (name) => require(${JSON.stringify(seaAddon)}).nativePcscAddon(name);`,
      loader: 'js',
      resolveDir: root,
    }));
    if (!pcscAddon) b.onResolve({ filter: /^pcsclite$/ }, () => ({ path: 'pcsclite', external: true }));
    // The `ipp` package (the IPP message encoder the agent prints with) is sloppy-mode code: it
    // names its attribute types with `arguments.callee.name`. Inlined, it would run under the
    // bundle's "use strict" (our TypeScript is strict) and throw as it loads, and the bundler's
    // renaming (`deferred` → `deferred2`) would break those names anyway. So it is bundled on its
    // own — its names kept, no directive — and compiled at run time with vm.runInThisContext,
    // which compiles sloppy code: a small island, while the rest of the agent stays strict.
    b.onResolve({ filter: /^ipp$/ }, () => ({ path: 'ipp', namespace: 'tessera-sloppy' }));
    b.onLoad({ filter: /.*/, namespace: 'tessera-sloppy' }, async () => {
      const inner = await build({
        entryPoints: [require.resolve('ipp')],
        bundle: true,
        platform: 'node',
        format: 'cjs',
        target: `node${process.versions.node.split('.')[0]}`,
        keepNames: true,
        write: false,
        logLevel: 'warning',
        plugins: [bufferAlloc],
      });
      const code = inner.outputFiles[0].text;
      if (/^\s*(#!.*\n)?\s*['"]use strict['"]/.test(code))
        throw new Error('build:agent: the ipp bundle became strict; it must stay sloppy-mode code');
      const source = `(function (require, module, exports) {\n${code}\n})`;
      return {
        contents:
          `require('node:vm').runInThisContext(${JSON.stringify(source)}, { filename: 'ipp.bundle.js' })` +
          '(require, module, module.exports);',
        loader: 'js',
        resolveDir: root,
      };
    });
  },
};

const work = mkdtempSync(join(tmpdir(), 'tessera-agent-build-'));
try {
  const bundle = join(work, 'tessera-agent.cjs');
  await build({
    entryPoints: [join(root, 'src/cli/agent-main.ts')],
    bundle: true,
    platform: 'node',
    format: 'cjs',
    target: `node${process.versions.node.split('.')[0]}`,
    outfile: bundle,
    plugins: [seaPlugin],
    // ws would try to require these optional speed-ups, which a single executable cannot (and
    // would warn about on every start): tell it they are absent.
    external: ['bufferutil', 'utf-8-validate'],
    define: { 'process.env.WS_NO_BUFFER_UTIL': '"1"', 'process.env.WS_NO_UTF_8_VALIDATE': '"1"' },
    logLevel: 'warning',
  });

  const blob = join(work, 'sea-prep.blob');
  const seaConfig = {
    main: bundle,
    output: blob,
    disableExperimentalSEAWarning: true,
    assets: pcscAddon ? { 'pcsclite.node': pcscAddon } : {},
  };
  writeFileSync(join(work, 'sea-config.json'), JSON.stringify(seaConfig));
  execFileSync(process.execPath, ['--experimental-sea-config', join(work, 'sea-config.json')], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });

  // Made beside the final name and renamed when complete, so a server serving the previous build
  // never sends half of this one.
  mkdirSync(outDir, { recursive: true });
  const partial = join(outDir, `.${fileName}.${process.pid}.partial`);
  // Node binaries from some packagers keep their symbol table and debug data (about 14 MB on
  // Linux x64); the executable needs neither. The dynamic symbols native addons link against stay.
  const stripped = process.platform === 'linux' && canRun('strip');
  // postject's ELF library warns once per note section of node's binary that it cannot name:
  // harmless, and it would drown what this script says.
  const warn = console.warn;
  console.warn = (...a) => {
    if (!/Can't find string offset for section name/.test(String(a[0]))) warn(...a);
  };
  try {
    copyFileSync(process.execPath, partial);
    chmodSync(partial, 0o755);
    if (stripped) execFileSync('strip', ['--strip-all', partial]);
    // macOS refuses to run a modified signed binary: drop node's signature, sign ad hoc after.
    if (process.platform === 'darwin') execFileSync('codesign', ['--remove-signature', partial]);
    await postject.inject(partial, 'NODE_SEA_BLOB', readFileSync(blob), {
      sentinelFuse: SEA_FUSE,
      ...(process.platform === 'darwin' ? { machoSegmentName: 'NODE_SEA' } : {}),
    });
    if (process.platform === 'darwin') execFileSync('codesign', ['--sign', '-', partial]);
    renameSync(partial, out);
  } catch (e) {
    rmSync(partial, { force: true });
    throw e;
  } finally {
    console.warn = warn;
  }

  const bytes = readFileSync(out);
  const digest = createHash('sha256').update(bytes).digest('hex');
  const seconds = ((Date.now() - started) / 1000).toFixed(1);
  console.log(
    `build:agent: ${out} (${(bytes.length / 1e6).toFixed(1)} MB, PC/SC ${pcscAddon ? 'included' : 'NOT included'}${stripped ? ', stripped' : ''}) in ${seconds} s\n` +
      `  SHA-256 ${digest}`,
  );
} finally {
  rmSync(work, { recursive: true, force: true });
}
