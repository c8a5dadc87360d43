/**
 * ViewerAtlas as a package a user installs: publishable, a licence, only what runs in the tarball,
 * runtime dependencies exactly what the compiled code imports — and the packed tarball, installed
 * into an empty folder (production dependencies only), runs `vieweratlas --help` and
 * `vieweratlas demo` from there.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { isBuiltin } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { clientBundle } from '../src/render/html.js';

const ROOT = join(import.meta.dirname, '..');
const DIST = join(ROOT, 'dist');
const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as {
  private?: boolean;
  license: string;
  files: string[];
  bin: Record<string, string>;
  dependencies: Record<string, string>;
  devDependencies: Record<string, string>;
  scripts: Record<string, string>;
};
const TMP = mkdtempSync(join(tmpdir(), 'va-package-'));
/** A user's environment: none of the npm_* variables `npm test` passes down to its scripts. */
const USER_ENV = Object.fromEntries(Object.entries(process.env).filter(([k]) => !/^npm_/i.test(k)));
afterAll(() => rmSync(TMP, { recursive: true, force: true }));

const jsFiles = (dir: string): string[] =>
  readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile() && /\.m?js$/.test(e.name))
    .map((e) => join(e.parentPath, e.name));

/** Packages a file imports (static, dynamic, re-exports; not `node:`), by package name. */
function importedPackages(text: string): string[] {
  const out: string[] = [];
  for (const m of text.matchAll(
    /(?:^|\n)\s*(?:import|export)\s[^;]*?\sfrom\s*["']([^"'.][^"']*)["']|import\(\s*["']([^"'.][^"']*)["']\s*\)|(?:^|\n)\s*import\s*["']([^"'.][^"']*)["']/g,
  )) {
    const spec = (m[1] ?? m[2] ?? m[3]) as string;
    if (spec.startsWith('node:')) continue;
    out.push(spec.startsWith('@') ? spec.split('/').slice(0, 2).join('/') : (spec.split('/')[0] as string));
  }
  return out;
}

describe('package.json', () => {
  it('is publishable, MIT with the licence text, and `files` holds what runs', () => {
    expect(pkg.private).toBeUndefined();
    expect(pkg.license).toBe('MIT');
    const licence = readFileSync(join(ROOT, 'LICENSE'), 'utf8');
    expect(licence).toMatch(/^MIT License\n\nCopyright \(c\) \d{4} /);
    expect(licence).toContain('THE SOFTWARE IS PROVIDED "AS IS", WITHOUT WARRANTY OF ANY KIND');
    expect([...pkg.files].sort()).toEqual(['LICENSE', 'assets/', 'bin/', 'dist/']);
    for (const bin of Object.values(pkg.bin)) expect(existsSync(join(ROOT, bin)), bin).toBe(true);
    // npm ci builds (prepare), npm test rebuilds (pretest)
    expect(pkg.scripts.prepare).toBe('node scripts/build.mjs');
    expect(pkg.scripts.pretest).toMatch(/^node scripts\/build\.mjs/);
  });

  it('runtime dependencies are exactly the packages the compiled code loads', () => {
    const loaded = new Map<string, string>();
    for (const f of [...jsFiles(DIST), join(ROOT, 'bin', 'vieweratlas.mjs')]) {
      const text = readFileSync(f, 'utf8');
      // a bundled package's require() of what stays installed (DuckDB's native binding)
      if (f.includes(`${join('dist', 'vendor')}`))
        for (const m of text.matchAll(/__require\("(@[^/"]+\/[^/"]+|[^@./"][^/"]*)"\)/g))
          if (!isBuiltin(m[1] as string)) loaded.set(m[1] as string, f.slice(ROOT.length + 1));
      for (const p of importedPackages(text)) loaded.set(p, f.slice(ROOT.length + 1));
      // resolved at run time by name (fonts.ts: the Inter files of @fontsource/inter)
      for (const m of text.matchAll(/require\d*\.resolve\(["']((?:@[^/"']+\/)?[^/"']+)/g))
        loaded.set(m[1] as string, f.slice(ROOT.length + 1));
      // required on first use through createRequire (louvain.ts: graphology and its Louvain)
      if (!f.includes(`${join('dist', 'vendor')}`))
        for (const m of text.matchAll(/\brequire\d*\(["']((?:@[^/"']+\/)?[^/"'.][^/"']*)["']\)/g))
          if (!isBuiltin(m[1] as string)) loaded.set(m[1] as string, f.slice(ROOT.length + 1));
    }
    // html.js bundles the client with esbuild only when dist/render/html/client.js is missing,
    // i.e. from src/; the build always writes it (checked below)
    expect(loaded.get('esbuild')).toBe('dist/render/html.js');
    loaded.delete('esbuild');
    expect(existsSync(join(DIST, 'render', 'html', 'client.js'))).toBe(true);
    expect([...loaded.keys()].sort()).toEqual(Object.keys(pkg.dependencies).sort());
    // build, test and bench tools are development dependencies
    for (const p of ['esbuild', 'tsx', 'sigma', '@twurple/chat', 'vitest', 'typescript'])
      expect(pkg.devDependencies[p], p).toBeDefined();
    // bundled into dist/vendor/ by the build, each with its licence
    const externals: Record<string, string[]> = { '@duckdb/node-api': ['@duckdb/node-bindings'] };
    for (const p of ['zod', 'yaml', 'commander', '@duckdb/node-api']) {
      const name = p.replace(/^@/, '').replace('/', '-');
      expect(pkg.devDependencies[p], p).toBeDefined();
      const bundle = readFileSync(join(DIST, 'vendor', `${name}.js`), 'utf8');
      expect(bundle.split('\n')[0]).toBe(
        `// ${p} ${pkg.devDependencies[p]}, bundled by scripts/build.mjs; licence: ./${name}.LICENSE`,
      );
      expect(readFileSync(join(DIST, 'vendor', `${name}.LICENSE`), 'utf8')).toBe(
        readFileSync(join(ROOT, 'node_modules', p, 'LICENSE'), 'utf8'),
      );
      expect(importedPackages(bundle), `${p} bundle imports a package`).toEqual([]);
      const required = new Set([...bundle.matchAll(/__require\("([^".][^"]*)"\)/g)].map((m) => m[1]));
      for (const r of required)
        if (!r.startsWith('node:') && !isBuiltin(r))
          expect(externals[p] ?? [], `${p} requires ${r}`).toContain(r);
      for (const e of externals[p] ?? []) {
        expect(required).toContain(e);
        expect(pkg.dependencies[e], `${e} is a runtime dependency`).toBeDefined();
      }
    }
    for (const p of ['@twurple/api', 'graphology-utils']) {
      expect(pkg.dependencies[p], p).toBeUndefined();
      expect(pkg.devDependencies[p], p).toBeUndefined();
    }
  });

  it('dist/ holds no TypeScript and no tsx: workers and the atlas.html client are compiled', () => {
    const files = readdirSync(DIST, { recursive: true }) as string[];
    expect(files.filter((f) => f.endsWith('.ts'))).toEqual([]);
    for (const f of jsFiles(DIST)) expect(importedPackages(readFileSync(f, 'utf8')), f).not.toContain('tsx');
    // every `new Worker(new URL('./x-worker.mjs', import.meta.url))` of src/ has its dist/ file
    const src = join(ROOT, 'src');
    for (const f of readdirSync(src, { recursive: true }) as string[]) {
      if (!f.endsWith('.ts')) continue;
      for (const m of readFileSync(join(src, f), 'utf8').matchAll(
        /new Worker\(new URL\('\.\/([\w-]+\.mjs)', import\.meta\.url\)/g,
      ))
        expect(existsSync(join(DIST, f, '..', m[1] as string)), `${f}: ${m[1]}`).toBe(true);
    }
  });

  it('the pre-bundled atlas.html client is what html.ts bundles from src/', async () => {
    const prebuilt = readFileSync(join(DIST, 'render', 'html', 'client.js'), 'utf8');
    expect(await clientBundle()).toBe(prebuilt.replace(/<\/(script)/gi, '<\\/$1'));
    expect(prebuilt.length).toBeGreaterThan(50_000); // sigma and graphology inside
  });
});

describe('the packed tarball, installed into an empty folder', () => {
  it('ships only what runs, installs without dev tools, and runs --help and demo', () => {
    const packDir = join(TMP, 'pack');
    mkdirSync(packDir);
    const pack = spawnSync('npm', ['pack', '--pack-destination', packDir, '--silent'], {
      cwd: ROOT,
      encoding: 'utf8',
      env: USER_ENV,
    });
    expect(pack.status, pack.stderr).toBe(0);
    const tarball = readdirSync(packDir).find((f) => f.endsWith('.tgz')) as string;
    expect(tarball).toBe('vieweratlas-0.1.0.tgz');
    const tgz = join(packDir, tarball);

    const entries = spawnSync('tar', ['-tzf', tgz], { encoding: 'utf8' })
      .stdout.split('\n')
      .filter(Boolean)
      .map((e) => e.replace(/^package\//, ''));
    const top = new Set(entries.map((e) => e.split('/')[0]));
    expect([...top].sort()).toEqual(['LICENSE', 'README.md', 'assets', 'bin', 'dist', 'package.json']);
    for (const must of [
      'bin/vieweratlas.mjs',
      'dist/cli/main.js',
      'dist/render/html/client.js',
      'dist/ingest/csv-worker.mjs',
      'dist/ingest/csv-kernel/rows.wasm',
      'dist/analysis/leiden-kernel/passes.wasm',
      'dist/export/edge-lines/lines.wasm',
      'dist/render/layout-worker.mjs',
      'assets/atlas-2021-10/twitch-atlas-2021-10-edges.csv',
    ])
      expect(entries).toContain(must);
    expect(entries.filter((e) => e.endsWith('.ts') || /(^|\/)(test|bench|src)\//.test(e))).toEqual([]);

    // an empty folder; production dependencies from the npm cache where it has them
    const app = join(TMP, 'app');
    mkdirSync(app);
    const install = spawnSync(
      'npm',
      ['install', '--prefer-offline', '--no-audit', '--no-fund', '--no-package-lock', tgz],
      { cwd: app, encoding: 'utf8', env: USER_ENV },
    );
    expect(install.status, install.stderr).toBe(0);
    const modules = readdirSync(join(app, 'node_modules'));
    expect(modules).toContain('vieweratlas');
    for (const dev of ['esbuild', 'tsx', 'sigma', 'vitest', 'typescript', '@twurple', 'assemblyscript'])
      expect(modules, `${dev} installed with the package`).not.toContain(dev);

    // the installed dist/ finds its WebAssembly kernels beside its modules
    const kernels = spawnSync(
      'node',
      [
        '--input-type=module',
        '-e',
        `const { kernelModule } = await import(${JSON.stringify(pathToFileURL(join(app, 'node_modules', 'vieweratlas', 'dist', 'wasm-kernels.js')).href)});
         console.log(['ingest/csv-kernel/rows', 'ingest/name-runs/runs', 'analysis/leiden-kernel/passes', 'export/edge-lines/lines'].map((k) => kernelModule(k) !== null).join(' '));`,
      ],
      { cwd: app, encoding: 'utf8' },
    );
    expect(kernels.stdout.trim(), kernels.stderr).toBe('true true true true');

    const run = (args: string[]) =>
      spawnSync('npx', ['--no-install', 'vieweratlas', ...args], {
        cwd: app,
        encoding: 'utf8',
        env: { ...USER_ENV, npm_config_update_notifier: 'false', VIEWERATLAS_METRICS_EMF: 'false' },
      });
    const help = run(['--help']);
    expect(help.status, help.stderr).toBe(0);
    expect(help.stdout).toMatch(/^ {2}demo /m);
    expect(help.stdout).toMatch(/^ {2}collect /m);

    const demo = run(['demo', '--out', 'out/demo']);
    expect(demo.status, demo.stderr).toBe(0);
    expect(demo.stdout).toMatch(/^demo: 2,200 channels, 82,275 overlaps/m);
    for (const f of ['atlas.png', 'atlas.html', 'channels.csv', 'edges.parquet', 'summary.json'])
      expect(existsSync(join(app, 'out', 'demo', f)), f).toBe(true);
    expect(readFileSync(join(app, 'out', 'demo', 'atlas.html'), 'utf8')).toContain(
      readFileSync(join(DIST, 'render', 'html', 'client.js'), 'utf8').slice(0, 200),
    );
  }, 300_000);
});
