/**
 * Builds `dist/`: `km` and `kmd` bundled with their dependencies into ES modules, split so
 * that each command loads only the code it uses (lazy command modules become their own
 * chunks). `bin/km` and `bin/kmd` run the build when it is newer than every file under
 * `src/`, else the sources directly, so an edit never runs stale code.
 *
 *   scripts/node scripts/build.ts [--check]
 *
 * `--check` exits 1 when `dist/` is missing or older than a source file, without building.
 */
import { randomUUID } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join, resolve } from 'node:path';
import { build, type Plugin } from 'esbuild';

const ROOT = resolve(import.meta.dirname, '..');
const DIST = join(ROOT, 'dist');
/** Written last, so a build interrupted half-way is never taken for a complete one. */
const STAMP = join(DIST, '.built');
const INPUTS = ['src', 'package.json', 'package-lock.json'];

function newestMtime(path: string): number {
  const st = statSync(path);
  if (!st.isDirectory()) return st.mtimeMs;
  let max = st.mtimeMs;
  for (const e of readdirSync(path)) max = Math.max(max, newestMtime(join(path, e)));
  return max;
}

export function isFresh(): boolean {
  if (!existsSync(STAMP)) return false;
  const built = statSync(STAMP).mtimeMs;
  return INPUTS.every((p) => newestMtime(join(ROOT, p)) <= built);
}

/** CommonJS dependencies bundled into ES modules still call require() and read __dirname. */
const BANNER = [
  "import { createRequire as __kmCreateRequire } from 'node:module';",
  "import { fileURLToPath as __kmFileURLToPath } from 'node:url';",
  'const require = __kmCreateRequire(import.meta.url);',
  'const __filename = __kmFileURLToPath(import.meta.url);',
  "const __dirname = __kmFileURLToPath(new URL('.', import.meta.url));",
].join('\n');

/**
 * `import … from 'node:http'` in an ES module builds the module's ESM facade, which reads every
 * export, including the lazy WebSocket/CloseEvent/MessageEvent getters that load all of undici
 * (~25 ms of start-up). This plugin serves node:http through require() instead, re-exporting
 * every plain property; an import of a getter-only name fails the build rather than run wrong.
 */
const cjsBuiltins: Plugin = {
  name: 'cjs-builtins',
  setup(b) {
    const req = createRequire(import.meta.url);
    b.onResolve({ filter: /^node:http$/ }, (args) => (args.namespace === 'km-builtin' ? { path: args.path, external: true } : { path: args.path, namespace: 'km-builtin' }));
    b.onLoad({ filter: /.*/, namespace: 'km-builtin' }, (args) => {
      const mod = req(args.path) as Record<string, unknown>;
      const plain = Object.entries(Object.getOwnPropertyDescriptors(mod)).filter(([k, d]) => !d.get && /^[A-Za-z_$][\w$]*$/.test(k)).map(([k]) => k);
      const lines = [`const m = require(${JSON.stringify(args.path)});`, 'export default m;', ...plain.map((k) => `export const ${k} = m.${k};`)];
      return { contents: lines.join('\n'), loader: 'js' };
    });
  },
};

async function main(): Promise<void> {
  if (process.argv.includes('--check')) {
    const fresh = isFresh();
    process.stdout.write(fresh ? 'dist is up to date\n' : 'dist is missing or stale\n');
    process.exitCode = fresh ? 0 : 1;
    return;
  }
  const t0 = performance.now();
  rmSync(DIST, { recursive: true, force: true });
  mkdirSync(DIST, { recursive: true });
  const result = await build({
    entryPoints: { km: join(ROOT, 'src/bin/km.ts'), kmd: join(ROOT, 'src/bin/kmd.ts') },
    outdir: DIST,
    outExtension: { '.js': '.mjs' },
    chunkNames: 'chunk-[hash]',
    bundle: true,
    splitting: true,
    format: 'esm',
    platform: 'node',
    target: 'node24',
    define: { KM_BUNDLED: 'true', KM_BUILD_ID: JSON.stringify(randomUUID()) },
    banner: { js: BANNER },
    legalComments: 'none',
    logLevel: 'warning',
    metafile: true,
    plugins: [cjsBuiltins],
  });
  const files = Object.keys(result.metafile.outputs).length;
  writeFileSync(STAMP, `${new Date().toISOString()}\n`);
  process.stderr.write(`built dist/ (${files} files) in ${Math.round(performance.now() - t0)} ms\n`);
}

await main();
