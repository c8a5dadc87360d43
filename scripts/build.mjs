#!/usr/bin/env node
/**
 * `npm run build` (and `prepare`, so `npm ci` runs it; `pretest`; vitest's global set-up):
 * src/ → dist/, one JavaScript file per TypeScript file, same folder layout, so every
 * `new URL('../../package.json' | '../../assets/…', import.meta.url)` in the sources points at the
 * same file from dist/ as from src/. Plain JavaScript on purpose: it runs before anything is built.
 *
 * - src/**\/*.ts (not tests, not the browser client) → dist/**\/*.js, ESM for Node 20, not bundled
 *   (imports keep their `./x.js` specifiers, packages stay packages).
 * - worker entries src/**\/*-worker.mjs: a tsx shim beside a .ts (register tsx, import './x.ts')
 *   becomes `import './x.js'` — compiled code needs no loader; plain-JavaScript workers are copied.
 * - src/render/html/client.ts → dist/render/html/client.js, the atlas.html client bundled for the
 *   browser (with sigma and graphology in it), so the installed package needs neither esbuild nor sigma.
 * - zod, yaml, commander and @duckdb/node-api's JavaScript (its native binding stays the package
 *   @duckdb/node-bindings) are bundled once each into dist/vendor/<name>.js with their licence
 *   beside it, and the compiled imports point there: one module instead of ~95 (zod) or ~120
 *   (DuckDB) files, and no CommonJS export scanning — about half the CPU of a tiny `analyze`'s
 *   start (`npm run bench -- startup`). They are build-time dependencies for that reason.
 *
 * Every file is written to a temporary name and renamed, and files of dist/ the build did not
 * produce (a deleted source) are removed afterwards: a build never leaves a missing or half-written
 * file, so one may run while the CLI runs — `npx vieweratlas` runs `prepare` the first time it
 * links this project, possibly while tests run the bin. --quiet prints nothing on success.
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

/** esbuild is a development dependency: a clear line when an install left it out. */
async function loadEsbuild() {
  try {
    return await import('esbuild');
  } catch (err) {
    if (err?.code !== 'ERR_MODULE_NOT_FOUND') throw err;
    throw new Error(
      'build: esbuild is not installed (a development dependency): run `npm ci` without --omit=dev, or install the packed package (`npm pack`), which ships dist/',
    );
  }
}

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const SRC = join(ROOT, 'src');
const DIST = join(ROOT, 'dist');
/** Browser code: bundled on its own, never compiled for Node. */
const CLIENT_DIR = join(SRC, 'render', 'html');
const CLIENT_ENTRY = join(CLIENT_DIR, 'client.ts');

/** Shared with src/render/html.ts, which bundles the client itself when it runs from src/. */
const CLIENT_OPTIONS = JSON.parse(readFileSync(join(CLIENT_DIR, 'bundle-options.json'), 'utf8'));

function writeAtomic(file, text, written) {
  written.add(file);
  mkdirSync(dirname(file), { recursive: true });
  const tmp = `${file}.${process.pid}.tmp`;
  writeFileSync(tmp, text);
  renameSync(tmp, file);
}

function listFiles(dir) {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => join(e.parentPath, e.name));
}

/**
 * AssemblyScript kernels: src/**\/<name>.as.ts → dist/**\/<name>.wasm (assemblyscript, a
 * development dependency like esbuild). Compiling one takes ~3 s, so a kernel whose source,
 * compiler version and flags are unchanged (its key in node_modules/.cache) is not compiled again.
 */
const KERNEL_SUFFIX = '.as.ts';
/** AssemblyScript the kernels import (not kernels themselves): part of every kernel's key. */
const KERNEL_LIB_SUFFIX = '.as-lib.ts';
/** SIMD (v128) is in every Node this runs on (V8 has had it since Node 16.4). */
const KERNEL_FLAGS = ['-O3', '--runtime', 'stub', '--noAssert', '--enable', 'simd'];
/**
 * A kernel's memory is fixed (never grows, so views of it stay valid): 200 pages of 64 KiB hold
 * the layouts. One whose source starts with `// kernel memory: growable` starts at one page and
 * grows to what its input needs (up to 4 GiB; its caller makes its views again after each call).
 */
const FIXED_MEMORY = ['--initialMemory', '200', '--maximumMemory', '200'];
const GROWABLE_MEMORY = ['--initialMemory', '1', '--maximumMemory', '65536'];
const memoryFlags = (text) =>
  text.startsWith('// kernel memory: growable\n') ? GROWABLE_MEMORY : FIXED_MEMORY;

async function compileKernels(files, written) {
  const sources = files.filter((f) => f.endsWith(KERNEL_SUFFIX));
  if (sources.length === 0) return 0;
  const libs = files
    .filter((f) => f.endsWith(KERNEL_LIB_SUFFIX))
    .sort()
    .map((f) => readFileSync(f, 'utf8'));
  let asc;
  try {
    asc = await import('assemblyscript/asc');
  } catch (err) {
    if (err?.code !== 'ERR_MODULE_NOT_FOUND') throw err;
    throw new Error(
      'build: assemblyscript is not installed (a development dependency): run `npm ci` without --omit=dev, or install the packed package (`npm pack`), which ships dist/',
    );
  }
  for (const src of sources) {
    const out = `${join(DIST, relative(SRC, src)).slice(0, -KERNEL_SUFFIX.length)}.wasm`;
    // the key lives outside dist/ (not shipped): node_modules/.cache, beside the compiler
    const keyFile = join(
      ROOT,
      'node_modules',
      '.cache',
      'vieweratlas-kernels',
      `${relative(DIST, out).replaceAll(sep, '+')}.key`,
    );
    const text = readFileSync(src, 'utf8');
    const flags = [...KERNEL_FLAGS, ...memoryFlags(text)];
    const key = createHash('sha256')
      .update(JSON.stringify([asc.version, flags, libs]))
      .update(text)
      .digest('hex');
    written.add(out);
    if (existsSync(out) && existsSync(keyFile) && readFileSync(keyFile, 'utf8') === key) continue;
    let binary;
    let messages = '';
    const { error } = await asc.main([src, ...flags, '--outFile', 'kernel.wasm'], {
      writeFile: (name, contents) => {
        if (name === 'kernel.wasm') binary = contents;
      },
      stdout: asc.createMemoryStream(),
      stderr: {
        write: (text) => {
          messages += text;
        },
      },
    });
    if (error || !binary)
      throw new Error(`build: ${relative(ROOT, src)}: ${error?.message ?? 'no output'}\n${messages}`);
    writeAtomic(out, binary, written);
    writeAtomic(keyFile, key, new Set());
  }
  return sources.length;
}

/** A worker entry that only registers tsx and imports its TypeScript sibling. */
const TSX_SHIM =
  /^(?:\s*\/\/[^\n]*\n)*\s*import \{ register \} from 'tsx\/esm\/api';\s*register\(\);\s*await import\('\.\/([\w-]+)\.ts'\);\s*$/;

/** Packages bundled into dist/vendor/ (see above), with what stays an installed package. */
const VENDOR = new Map([
  ['zod', []],
  ['yaml', []],
  ['commander', []],
  ['@duckdb/node-api', ['@duckdb/node-bindings']],
]);
const vendorName = (pkg) => pkg.replace(/^@/, '').replace('/', '-');

/**
 * Points the compiled modules' imports of VENDOR packages at dist/vendor/, and bundles each with
 * exactly the names the modules import (so CommonJS packages get static named exports).
 */
async function vendor(build, outputs, written) {
  const names = new Map([...VENDOR.keys()].map((v) => [v, { default: false, named: new Set() }]));
  const importRe = /^import\s+(?:(\w+)\s*,?\s*)?(?:\{([^}]*)\}|(\*\s+as\s+\w+))?\s*from\s*"([^"]+)";?$/gm;
  for (const out of outputs) {
    if (!out.path.endsWith('.js')) continue;
    const where = relative(ROOT, out.path);
    let changed = false;
    const text = out.text.replace(importRe, (line, def, named, star, spec) => {
      const use = names.get(spec);
      if (!use) return line;
      if (star) throw new Error(`build: ${where}: \`import * as\` from ${spec}; import names instead`);
      if (def) use.default = true;
      for (const n of (named ?? '').split(',')) {
        const name = n.trim().split(/\s+as\s+/)[0];
        if (name) use.named.add(name);
      }
      let rel = relative(dirname(out.path), join(DIST, 'vendor', `${vendorName(spec)}.js`));
      rel = rel.split(sep).join('/');
      if (!rel.startsWith('.')) rel = `./${rel}`;
      changed = true;
      return line.replace(`"${spec}"`, `"${rel}"`);
    });
    for (const v of VENDOR.keys())
      if (text.includes(`import("${v}")`) || new RegExp(`^export [^;]* from "${v}"`, 'm').test(text))
        throw new Error(
          `build: ${where} loads ${v} another way than \`import { … } from\`; the bundle would miss it`,
        );
    if (changed) writeAtomic(out.path, text, written);
  }
  for (const [pkg, use] of names) {
    if (!use.default && use.named.size === 0) continue;
    const lines = [];
    if (use.named.size) lines.push(`export { ${[...use.named].sort().join(', ')} } from '${pkg}';`);
    if (use.default) lines.push(`export { default } from '${pkg}';`);
    const dir = join(ROOT, 'node_modules', pkg);
    const version = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')).version;
    const name = vendorName(pkg);
    const r = await build({
      stdin: { contents: lines.join('\n'), resolveDir: ROOT, sourcefile: `vendor-${name}.js` },
      bundle: true,
      format: 'esm',
      platform: 'node',
      target: 'node20',
      write: false,
      external: VENDOR.get(pkg),
      logLevel: 'silent',
      // CommonJS inside an ES module: its require() calls (node: built-ins, externals) need a require
      banner: {
        js: `// ${pkg} ${version}, bundled by scripts/build.mjs; licence: ./${name}.LICENSE\nimport { createRequire as __vaCreateRequire } from 'node:module';\nconst require = __vaCreateRequire(import.meta.url);`,
      },
    });
    writeAtomic(join(DIST, 'vendor', `${name}.js`), r.outputFiles[0].contents, written);
    writeAtomic(join(DIST, 'vendor', `${name}.LICENSE`), readFileSync(join(dir, 'LICENSE')), written);
  }
}

export async function buildDist({ quiet = false } = {}) {
  const t0 = performance.now();
  const { build } = await loadEsbuild();
  const written = new Set();
  const files = listFiles(SRC);
  const entries = files.filter(
    (f) =>
      f.endsWith('.ts') &&
      !f.endsWith('.test.ts') &&
      !f.endsWith('.d.ts') &&
      !f.endsWith(KERNEL_SUFFIX) &&
      !f.endsWith(KERNEL_LIB_SUFFIX) &&
      !f.startsWith(CLIENT_DIR + sep),
  );
  const kernels = await compileKernels(files, written);
  const node = await build({
    entryPoints: entries,
    outdir: DIST,
    outbase: SRC,
    bundle: false,
    format: 'esm',
    platform: 'node',
    target: 'node20',
    write: false,
    logLevel: 'silent',
  });
  for (const out of node.outputFiles) writeAtomic(out.path, out.contents, written);
  await vendor(build, node.outputFiles, written);

  let workers = 0;
  for (const f of files.filter((x) => x.endsWith('.mjs'))) {
    const text = readFileSync(f, 'utf8');
    const target = join(DIST, relative(SRC, f));
    const shim = TSX_SHIM.exec(text);
    if (shim) {
      if (!existsSync(join(dirname(f), `${shim[1]}.ts`)))
        throw new Error(`build: ${relative(ROOT, f)} imports ./${shim[1]}.ts, which does not exist`);
      writeAtomic(
        target,
        `// Worker entry (compiled by scripts/build.mjs from ${relative(ROOT, f)}).\nimport './${shim[1]}.js';\n`,
        written,
      );
    } else if (/from 'tsx|import\('tsx/.test(text)) {
      throw new Error(
        `build: ${relative(ROOT, f)} uses tsx but is not a plain worker shim; compiled code runs without tsx`,
      );
    } else {
      writeAtomic(target, text, written);
    }
    workers++;
  }

  const client = await build({ ...CLIENT_OPTIONS, entryPoints: [CLIENT_ENTRY], write: false });
  writeAtomic(join(DIST, 'render', 'html', 'client.js'), client.outputFiles[0].contents, written);

  let removed = 0;
  for (const f of listFiles(DIST)) {
    if (written.has(f) || f.endsWith('.tmp')) continue;
    rmSync(f, { force: true });
    removed++;
  }

  if (!quiet)
    console.log(
      `build: ${node.outputFiles.length} modules, ${workers} worker entries, ${kernels} WebAssembly kernel(s) and the atlas.html client → dist/` +
        `${removed ? ` (${removed} stale file(s) removed)` : ''} in ${Math.round(performance.now() - t0)} ms`,
    );
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const args = process.argv.slice(2);
  buildDist({ quiet: args.includes('--quiet') }).catch((err) => {
    console.error(err.message.startsWith('build:') ? err.message : `build: ${err.message}`);
    process.exitCode = 1;
  });
}
