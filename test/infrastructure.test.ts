/**
 * No Docker engine and no AWS here: these tests parse every deployment file and cross-check it
 * against the code — each image's entrypoint is a real CLI command, each env var a task sets is
 * one the code reads (and the resulting config validates), each metric an alarm or the
 * dashboard watches is one the code emits, IAM stays scoped to the bucket prefix and workgroup,
 * and deploy.sh --dry-run runs without the aws CLI and describes before it creates.
 */

import { spawn, spawnSync } from 'node:child_process';
import {
  chmodSync,
  existsSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { createRequire, isBuiltin } from 'node:module';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Ajv } from 'ajv';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import YAML from 'yaml';
import { buildProgram } from '../src/cli/main.js';
import { resolveShard } from '../src/collect/shard.js';
import { loadConfig } from '../src/config/load.js';
import { SECTIONS } from '../src/config/schema.js';
import { PRESENCE_SOURCES } from '../src/model/records.js';
import { LAYOUT } from '../src/storage/layout.js';

const ROOT = join(import.meta.dirname, '..');
const INFRA = join(ROOT, 'infrastructure');
const read = (p: string) => readFileSync(join(ROOT, p), 'utf8');
const json = <T = Record<string, unknown>>(p: string): T => JSON.parse(readFileSync(p, 'utf8')) as T;
const EMPTY_CWD = mkdtempSync(join(tmpdir(), 'va-infra-cwd-'));
afterAll(() => rmSync(EMPTY_CWD, { recursive: true, force: true }));

const program = buildProgram();
const COMMANDS = new Map(program.commands.map((c) => [c.name(), c]));

/** Asserts `argv` (e.g. ['analyze', '--out', 'x']) is a CLI command with known flags. */
function expectCliCommand(argv: string[], where: string): void {
  const [name, ...rest] = argv;
  const cmd = COMMANDS.get(name ?? '');
  expect(
    cmd,
    `${where}: "${name}" is not a vieweratlas command (${[...COMMANDS.keys()].join(', ')})`,
  ).toBeDefined();
  const flags = new Set(cmd?.options.map((o) => o.long));
  for (const a of rest)
    if (a.startsWith('--'))
      expect(flags.has(a.split('=')[0] as string), `${where}: ${name} has no flag ${a}`).toBe(true);
}

// --- what the code reads and emits -------------------------------------------------------------

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile() && e.name.endsWith('.ts') && !e.name.endsWith('.test.ts'))
    .map((e) => join(e.parentPath, e.name));
}
const SOURCES = sourceFiles(join(ROOT, 'src')).map((f) => ({ file: f, text: readFileSync(f, 'utf8') }));
const DEFAULTS = loadConfig({ env: {}, cwd: EMPTY_CWD });

/** Environment variables something in this repository reads, with why. */
const READ_ENV: Map<string, string> = (() => {
  const out = new Map<string, string>();
  for (const section of SECTIONS) {
    for (const key of Object.keys(DEFAULTS[section]))
      out.set(`VIEWERATLAS_${section}_${key}`.toUpperCase(), `config ${section}.${key}`);
  }
  out.set('VIEWERATLAS_PRESET', 'config preset');
  for (const section of SECTIONS) {
    for (const [key, value] of Object.entries(DEFAULTS[section])) {
      if (key.endsWith('_env') && typeof value === 'string') out.set(value, `named by ${section}.${key}`);
    }
  }
  for (const { file, text } of SOURCES) {
    const rel = file.slice(ROOT.length + 1);
    for (const m of text.matchAll(/(?:process\.env|\benv)\.([A-Z][A-Z0-9_]*)/g)) out.set(m[1] as string, rel);
    for (const m of text.matchAll(/env\[['"]([A-Z][A-Z0-9_]*)['"]\]/g)) out.set(m[1] as string, rel);
    // helpers that take the variable's name (shard.ts: read('SHARD_COUNT', …))
    if (/\benv\b/.test(text))
      for (const m of text.matchAll(/'([A-Z][A-Z0-9]*_[A-Z0-9_]+)'/g)) out.set(m[1] as string, rel);
  }
  // read by the AWS SDK's default credential chain / region lookup
  for (const v of ['AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY', 'AWS_REGION']) out.set(v, 'AWS SDK');
  // read by TwitchDownloaderCLI's .NET runtime (no ICU in the slim image)
  out.set('DOTNET_SYSTEM_GLOBALIZATION_INVARIANT', '.NET runtime');
  return out;
})();

/** Metric names the code emits: keys of `metrics.emit({…})` and `emitMetric(config, 'Name', …)`. */
const EMITTED_METRICS: Set<string> = (() => {
  const out = new Set<string>();
  for (const { file, text } of SOURCES) {
    if (file.includes(`${join('src', 'observability')}`)) continue; // the definitions, not emitters
    for (const m of text.matchAll(/\.emit\(\{([\s\S]*?)\}\)/g)) {
      for (const k of (m[1] as string).matchAll(/^\s*([A-Z]\w*):/gm)) out.add(k[1] as string);
    }
    for (const m of text.matchAll(/emitMetric\(\s*\w+,\s*'(\w+)'/g)) out.add(m[1] as string);
  }
  return out;
})();

/** EMF dimension keys the collector attaches. */
const COLLECTOR_DIMENSIONS = new Set(
  [...read('src/collect/collector.ts').matchAll(/dimensions:\s*\{([^}]*)\}/g)].flatMap((m) =>
    [...(m[1] as string).matchAll(/(\w+):/g)].map((k) => k[1] as string),
  ),
);

it('finds what the code reads and emits (sanity of the scanners)', () => {
  expect(READ_ENV.get('SHARD_COUNT')).toMatch(/shard\.ts/);
  expect(READ_ENV.has('TWITCH_CLIENT_SECRET')).toBe(true);
  expect(READ_ENV.get('VIEWERATLAS_PSEUDONYM_KEY')).toBe('named by privacy.key_env');
  expect(READ_ENV.has('VIEWERATLAS_S3_BUCKET')).toBe(true);
  expect(READ_ENV.has('VIEWERATLAS_S3_NOPE')).toBe(false);
  expect([...EMITTED_METRICS].sort()).toEqual(
    [
      'AnalysisDurationMs',
      'ChannelsJoined',
      'FlushFailures',
      'LinesReceived',
      'MessagesPerSecond',
      'Reconnects',
      'RecordsWritten',
      'RowsHeld',
      'RowsLost',
    ].sort(),
  );
  expect(COLLECTOR_DIMENSIONS).toEqual(new Set(['Collector']));
});

// --- Docker ------------------------------------------------------------------------------------

interface Instruction {
  op: string;
  args: string;
}
interface Stage {
  name: string;
  from: string;
  ops: Instruction[];
}

function parseDockerfile(text: string): Stage[] {
  const lines = text.replace(/\\\n/g, ' ').split('\n');
  const stages: Stage[] = [];
  for (const raw of lines) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    const [op = '', ...rest] = line.split(/\s+/);
    const args = rest.join(' ');
    if (op.toUpperCase() === 'FROM') {
      const m = /^(\S+)(?:\s+AS\s+(\S+))?$/i.exec(args);
      stages.push({ name: m?.[2] ?? String(stages.length), from: m?.[1] ?? '', ops: [] });
    } else if (op.toUpperCase() !== 'ARG' || stages.length > 0) {
      stages.at(-1)?.ops.push({ op: op.toUpperCase(), args });
    }
  }
  return stages;
}

/** The stage and every stage it is built FROM, base first. */
function chain(stages: Stage[], name: string): Stage[] {
  const s = stages.find((x) => x.name === name);
  if (!s) return [];
  return [...chain(stages, s.from), s];
}
const last = (stages: Stage[], op: string) =>
  stages
    .flatMap((s) => s.ops)
    .filter((o) => o.op === op)
    .at(-1);
const jsonArgs = (args: string) => JSON.parse(args) as string[];

describe('Docker images', () => {
  const stages = parseDockerfile(read('infrastructure/docker/Dockerfile'));
  const targets = ['collector', 'analysis', 'vod', 'service'] as const;

  it('is multi-stage: production deps and the build in their own stages, copied into the app', () => {
    expect(stages.map((s) => s.name)).toEqual([
      'deps',
      'build',
      'tools',
      'app',
      'collector',
      'analysis',
      'vod',
      'service',
    ]);
    const deps = stages.find((s) => s.name === 'deps') as Stage;
    expect(deps.ops.some((o) => o.op === 'RUN' && /npm ci --omit=dev/.test(o.args))).toBe(true);
    // the full (dev) install only where dist/ is compiled; no `prepare` build inside `npm ci`
    for (const s of stages)
      for (const o of s.ops)
        if (o.op === 'RUN' && /npm ci/.test(o.args)) {
          expect(o.args).toMatch(/--ignore-scripts/);
          if (s.name !== 'build') expect(o.args, s.name).toMatch(/--omit=dev/);
        }
    const build = stages.find((s) => s.name === 'build') as Stage;
    expect(build.ops).toContainEqual({ op: 'RUN', args: 'node scripts/build.mjs' });
    const app = stages.find((s) => s.name === 'app') as Stage;
    expect(app.ops).toContainEqual({ op: 'COPY', args: '--from=deps /app/node_modules ./node_modules' });
    // only dist/ leaves the build stage: no sources, no dev node_modules in an image
    expect(app.ops.filter((o) => o.op === 'COPY' && o.args.startsWith('--from=build'))).toEqual([
      { op: 'COPY', args: '--from=build /app/dist ./dist' },
    ]);
    expect(app.ops.some((o) => o.op === 'COPY' && /^src\b/.test(o.args))).toBe(false);
    // the bin runs the compiled code: tsx is a development tool only
    const pkg = JSON.parse(read('package.json')) as {
      dependencies: Record<string, string>;
      devDependencies: Record<string, string>;
    };
    expect(pkg.dependencies.tsx).toBeUndefined();
    expect(pkg.devDependencies.tsx).toBeDefined();
    expect(read('bin/vieweratlas.mjs')).not.toContain('tsx');
  });

  it('every package the compiled CLI imports is a production dependency (the images omit dev)', () => {
    const pkg = JSON.parse(read('package.json')) as { dependencies: Record<string, string> };
    const dist = readdirSync(join(ROOT, 'dist'), { recursive: true, withFileTypes: true })
      .filter((e) => e.isFile() && /\.m?js$/.test(e.name) && !e.parentPath.includes(join('render', 'html')))
      .map((e) => join(e.parentPath, e.name));
    expect(dist).toContain(join(ROOT, 'dist', 'cli', 'main.js'));
    // html.js imports esbuild only when dist/render/html/client.js (pre-bundled) is missing
    expect(existsSync(join(ROOT, 'dist', 'render', 'html', 'client.js'))).toBe(true);
    const texts = [
      ...dist.map((f) => readFileSync(f, 'utf8').replace(/import\("esbuild"\)/, '')),
      read('bin/vieweratlas.mjs'),
    ];
    const imported = new Set<string>();
    for (const text of texts) {
      for (const m of text.matchAll(
        /(?:^|\n)\s*(?:import|export)\s[^;]*?\sfrom\s+["']([^"'.][^"']*)["']|import\(\s*["']([^"'.][^"']*)["']\s*\)/g,
      )) {
        const spec = (m[1] ?? m[2]) as string;
        if (spec.startsWith('node:') || /^import\s+type\s/.test(m[0].trim())) continue;
        imported.add(
          spec.startsWith('@') ? spec.split('/').slice(0, 2).join('/') : (spec.split('/')[0] as string),
        );
      }
      // required on first use through createRequire (louvain.ts: graphology and its Louvain)
      for (const m of text.matchAll(/\brequire\d*\(["']((?:@[^/"']+\/)?[^/"'.:][^/"']*)["']\)/g))
        if (!isBuiltin(m[1] as string)) imported.add(m[1] as string);
    }
    for (const p of ['@aws-sdk/client-s3', 'graphology']) expect(imported).toContain(p);
    for (const name of imported)
      expect(pkg.dependencies[name], `${name} is imported by dist/ but not a dependency`).toBeDefined();
  });

  it('copies only paths that exist', () => {
    for (const s of stages) {
      for (const o of s.ops.filter((x) => x.op === 'COPY' && !x.args.startsWith('--from'))) {
        const parts = o.args.split(/\s+/).filter((p) => !p.startsWith('--'));
        for (const src of parts.slice(0, -1))
          expect(existsSync(join(ROOT, src)), `${s.name}: COPY ${src}`).toBe(true);
      }
    }
  });

  for (const target of targets) {
    it(`${target}: non-root, healthcheck, entrypoint is a real CLI command`, () => {
      const c = chain(stages, target);
      const user = last(c, 'USER')?.args;
      expect(user).toBeDefined();
      expect(['root', '0', '0:0']).not.toContain(user);
      const hc = c.at(-1)?.ops.find((o) => o.op === 'HEALTHCHECK');
      expect(hc, `${target} has its own HEALTHCHECK`).toBeDefined();
      const hcCmd = jsonArgs((hc?.args ?? '').replace(/^.*?CMD\s+/, ''));
      expect(hcCmd.slice(0, 2)).toEqual(['node', 'infrastructure/docker/healthcheck.mjs']);
      const entry = jsonArgs(last(c, 'ENTRYPOINT')?.args ?? '[]');
      expect(entry).toEqual(['node', 'bin/vieweratlas.mjs']);
      const cmd = jsonArgs(last(c, 'CMD')?.args ?? '[]');
      expectCliCommand(cmd, `Dockerfile target ${target}`);
      // the healthcheck looks for the very command the image runs
      expect(hcCmd[2]).toBe(cmd[0]);
    });
  }

  it('ENV names are read by something', () => {
    for (const s of stages) {
      for (const o of s.ops.filter((x) => x.op === 'ENV')) {
        for (const m of o.args.matchAll(/([A-Z][A-Z0-9_]*)=/g))
          expect(READ_ENV.has(m[1] as string), `ENV ${m[1]}`).toBe(true);
      }
    }
  });

  it('keeps the build context small', () => {
    const ignore = read('infrastructure/docker/Dockerfile.dockerignore').split('\n');
    for (const p of ['.git', 'node_modules', 'data', 'out', '.env']) expect(ignore).toContain(p);
  });
});

describe('healthcheck.mjs', () => {
  const script = join(INFRA, 'docker', 'healthcheck.mjs');
  const check = (cmd: string) => spawnSync(process.execPath, [script, cmd], { encoding: 'utf8' });

  it('is unhealthy when no process runs the command', () => {
    // A name no other test spawns: the suite runs in parallel and other files do run `vieweratlas vod`.
    const name = `idle-${process.pid}`;
    const r = check(name);
    expect(r.status).toBe(1);
    expect(r.stderr).toContain(`no process runs "vieweratlas ${name}"`);
  });

  it('is healthy while the command runs (collector: with an established connection)', async () => {
    let connected!: () => void;
    const connection = new Promise<void>((r) => {
      connected = r;
    });
    const server = createServer((s) => {
      s.on('error', () => {});
      connected();
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const port = (server.address() as { port: number }).port;
    // a stand-in whose argv looks like `node …/bin/vieweratlas.mjs collect`, holding a TCP connection
    const child = spawn(
      process.execPath,
      [
        '-e',
        `require('net').connect(${port}, '127.0.0.1'); setTimeout(() => {}, 20000)`,
        '/app/bin/vieweratlas.mjs',
        'collect',
      ],
      { stdio: 'ignore' },
    );
    try {
      await connection; // the stand-in is up and holds its connection
      const r = check('collect');
      expect(r.stderr).toBe('');
      expect(r.status).toBe(0);
    } finally {
      child.kill();
      server.close();
    }
  });
});

describe('docker-compose.yml', () => {
  const compose = YAML.parse(read('infrastructure/docker/docker-compose.yml'), { merge: true }) as {
    services: Record<string, Record<string, unknown>>;
  };
  const services = compose.services;
  const stageNames = parseDockerfile(read('infrastructure/docker/Dockerfile')).map((s) => s.name);
  /** `${VAR:-default}` → default, as compose does with VAR unset. */
  const resolve = (v: unknown) => String(v).replace(/\$\{[A-Z0-9_]+:-([^}]*)\}/g, '$1');

  it('has a collector, a scheduled analysis and a local S3', () => {
    expect(Object.keys(services).sort()).toEqual(['analysis', 'collector', 's3']);
  });

  it('is a valid Compose file (the Compose Specification JSON schema)', () => {
    // test/fixtures/compose-spec: the schema from github.com/compose-spec/compose-spec (Apache-2.0)
    const schema = json(join(ROOT, 'test', 'fixtures', 'compose-spec', 'compose-spec.json'));
    const ajv = new Ajv({ allErrors: true, strict: false });
    // the schema names draft-07 by its https URL; Ajv ships that meta-schema under the http one
    ajv.addMetaSchema({
      ...json(createRequire(import.meta.url).resolve('ajv/dist/refs/json-schema-draft-07.json')),
      $id: 'https://json-schema.org/draft-07/schema',
    });
    const validate = ajv.compile(schema);
    const ok = validate(compose);
    expect(validate.errors ?? [], JSON.stringify(validate.errors, null, 1)).toEqual([]);
    expect(ok).toBe(true);
    // and the validator does catch a broken file
    const broken = structuredClone(compose) as { services: Record<string, Record<string, unknown>> };
    (broken.services.s3 as Record<string, unknown>).healthcheck = {
      test: 'curl',
      interval: 10,
      retries: 'x',
    };
    (broken.services.collector as Record<string, unknown>).depends_on = { s3: { condition: 'when_ready' } };
    expect(validate(broken)).toBe(false);
  });

  it('S3 is a maintained server, pinned by release, with SSE-S3 on and its data in a volume', () => {
    const s3 = services.s3 as {
      image: string;
      command: string[];
      environment: Record<string, string>;
      ports: string[];
      volumes: string[];
    };
    const image = resolve(s3.image);
    expect(image).toBe('chrislusf/seaweedfs:4.44');
    expect(s3.image).toMatch(/^\$\{S3_IMAGE:-/); // overridable with a digest-pinned reference
    expect(JSON.stringify(compose)).not.toMatch(/minio/i);
    // a version tag, not a moving one
    expect(image.split(':')[1]).toMatch(/^\d+\.\d+/);
    expect(s3.command[0]).toBe('mini');
    expect(s3.command).toContain('-bucket=vieweratlas');
    expect(s3.command).toContain('-s3.port=8333');
    expect(resolve(s3.environment.WEED_S3_SSE_KEY)).not.toBe('');
    // the keys the S3 admin identity gets are the ones our services sign with
    for (const name of ['collector', 'analysis']) {
      const env = services[name]?.environment as Record<string, string>;
      expect(resolve(env.AWS_ACCESS_KEY_ID)).toBe(resolve(s3.environment.AWS_ACCESS_KEY_ID));
      expect(resolve(env.AWS_SECRET_ACCESS_KEY)).toBe(resolve(s3.environment.AWS_SECRET_ACCESS_KEY));
      expect(env.VIEWERATLAS_S3_BUCKET).toBe('vieweratlas');
    }
    expect(s3.ports).toEqual(['127.0.0.1:8333:8333']);
    expect(s3.volumes).toEqual(['s3-data:/data']);
  });

  it('builds our targets, runs real CLI commands, sets only variables the code reads, and validates', () => {
    const ours = Object.entries(services).filter(([, s]) => s.build);
    expect(ours.map(([n]) => n).sort()).toEqual(['analysis', 'collector']);
    for (const [name, s] of ours) {
      const build = s.build as { dockerfile: string; target: string; context: string };
      expect(join(INFRA, 'docker', build.context, build.dockerfile)).toBe(
        join(ROOT, 'infrastructure/docker/Dockerfile'),
      );
      expect(stageNames).toContain(build.target);
      expect(s.init, `${name}: init reaps and forwards SIGTERM`).toBe(true);
      const command = [s.command ?? []].flat().join(' ');
      for (const m of command.matchAll(/bin\/vieweratlas\.mjs ([^;|&]+)/g)) {
        expectCliCommand((m[1] as string).trim().split(/\s+/), `compose ${name}`);
      }
      const env = Object.fromEntries(
        Object.entries((s.environment ?? {}) as Record<string, unknown>).map(([k, v]) => [k, resolve(v)]),
      );
      for (const k of Object.keys(env)) {
        const usedByCommand = command.includes(`$$${k}`);
        expect(READ_ENV.has(k) || usedByCommand, `compose ${name}: ${k} is read by nothing`).toBe(true);
      }
      const config = loadConfig({ env, cwd: EMPTY_CWD });
      expect(config.storage.driver).toBe('s3');
      expect(config.s3.endpoint).toBe('http://s3:8333');
      expect(config.s3.force_path_style).toBe(true);
    }
    // the analysis loop really runs analyze, and the image healthcheck recognises it
    expect(String(services.analysis?.command)).toContain('bin/vieweratlas.mjs analyze');
    expect(resolveShard(DEFAULTS.shard, { SHARD_INDEX: '0', SHARD_COUNT: '1' })).toEqual({
      index: 0,
      count: 1,
    });
  });

  it('every long-running service has a healthcheck (ours from the image)', () => {
    const hc = services.s3?.healthcheck as { test: string[] };
    // the S3 gateway's own health endpoint, on the port the services use
    expect(hc.test).toEqual(['CMD', 'curl', '-fsS', 'http://127.0.0.1:8333/healthz']);
    for (const name of ['collector', 'analysis']) {
      const deps = services[name]?.depends_on as Record<string, { condition: string }>;
      expect(deps).toEqual({ s3: { condition: 'service_healthy' } });
    }
  });
});

// --- AWS ---------------------------------------------------------------------------------------

interface DryRun {
  status: number | null;
  out: string;
  err: string;
  dir: string;
  awsCalled: boolean;
}

/** Runs deploy.sh --dry-run with an `aws` on PATH that records any call (there must be none). */
function dryRun(args: string[] = [], env: Record<string, string> = {}): DryRun {
  const dir = mkdtempSync(join(tmpdir(), 'va-deploy-'));
  const bin = join(dir, 'bin');
  const marker = join(dir, 'aws-was-called');
  spawnSync('mkdir', ['-p', bin]);
  writeFileSync(join(bin, 'aws'), `#!/bin/sh\necho "$@" >> ${marker}\nexit 99\n`);
  chmodSync(join(bin, 'aws'), 0o755);
  const r = spawnSync(
    'bash',
    [join(INFRA, 'aws', 'deploy.sh'), '--dry-run', '--render-dir', join(dir, 'rendered'), ...args],
    {
      encoding: 'utf8',
      env: { PATH: `${bin}:/usr/bin:/bin`, HOME: dir, TWITCH_CLIENT_SECRET: 'do-not-print-me', ...env },
    },
  );
  return { status: r.status, out: r.stdout, err: r.stderr, dir, awsCalled: existsSync(marker) };
}

describe('deploy.sh', () => {
  let run: DryRun;
  let rendered: string;
  const file = (name: string) => json(join(rendered, name));
  beforeAll(() => {
    run = dryRun(['--shards', '3']);
    rendered = join(run.dir, 'rendered');
  });
  afterAll(() => rmSync(run.dir, { recursive: true, force: true }));

  it('parses (bash -n), is executable and strict', () => {
    const script = join(INFRA, 'aws', 'deploy.sh');
    expect(spawnSync('bash', ['-n', script]).status).toBe(0);
    expect(statSync(script).mode & 0o111).not.toBe(0);
    expect(readFileSync(script, 'utf8')).toMatch(/^#!\/usr\/bin\/env bash\n[\s\S]*?\nset -euo pipefail\n/);
  });

  it.skipIf(spawnSync('shellcheck', ['--version']).status !== 0 && !process.env.CI)(
    'passes shellcheck (when installed)',
    () => {
      const r = spawnSync('shellcheck', [join(INFRA, 'aws', 'deploy.sh')], { encoding: 'utf8' });
      expect(r.stdout).toBe('');
      expect(r.status).toBe(0);
    },
  );

  it('dry run succeeds without the aws CLI, prints every call, never runs one, never prints secrets', () => {
    expect(run.err).toMatch(/^(\+ aws [^\n]*\n)*$/); // stderr only carries echoed calls
    expect(run.status).toBe(0);
    expect(run.awsCalled).toBe(false);
    const calls = (run.out + run.err).split('\n').filter((l) => l.startsWith('+ aws '));
    expect(calls.length).toBeGreaterThan(60);
    expect(run.out + run.err).not.toContain('do-not-print-me');
    expect(run.out).toContain('--secret-string \\<redacted\\>');
    expect(run.out + run.err).toContain('sns create-topic --name vieweratlas-alerts');
  });

  it('describes before it creates', () => {
    const lines = (run.out + run.err).split('\n').filter((l) => l.startsWith('+ aws '));
    const creates = lines
      .map((l, i) => [l, i] as const)
      .filter(([l]) => / (create-(?!topic)|register-)/.test(l) && !/register-task/.test(l));
    expect(creates.length).toBeGreaterThan(15);
    for (const [line, i] of creates) {
      expect(lines[i - 1], `before: ${line}`).toMatch(/ (describe-|get-|head-|list-)/);
    }
  });

  it('renders every template to valid JSON with no placeholder left', () => {
    for (const name of readdirSync(rendered)) {
      const text = readFileSync(join(rendered, name), 'utf8');
      expect(text, name).not.toMatch(/\$\{[A-Z][A-Z0-9_]*\}/);
      if (name.endsWith('.json')) expect(() => JSON.parse(text), name).not.toThrow();
    }
  });

  describe('ECS task definitions', () => {
    const FARGATE: Record<string, number[]> = {
      '256': [512, 1024, 2048],
      '512': [1024, 2048, 3072, 4096],
      '1024': [2048, 3072, 4096, 5120, 6144, 7168, 8192],
      '2048': Array.from({ length: 13 }, (_, i) => 4096 + i * 1024),
      '4096': Array.from({ length: 23 }, (_, i) => 8192 + i * 1024),
    };
    type Task = {
      family: string;
      cpu: string;
      memory: string;
      networkMode: string;
      requiresCompatibilities: string[];
      taskRoleArn: string;
      executionRoleArn: string;
      containerDefinitions: {
        image: string;
        command: string[];
        environment: { name: string; value: string }[];
        secrets?: { name: string; valueFrom: string }[];
        healthCheck: { command: string[] };
        logConfiguration: { logDriver: string; options: Record<string, string> };
        linuxParameters?: { initProcessEnabled?: boolean };
      }[];
    };
    const tasks = () =>
      readdirSync(rendered)
        .filter((n) => n.startsWith('task-'))
        .map((n) => [n, file(n) as unknown as Task] as const);

    it('one per scheduled task plus one per collector shard', () => {
      expect(
        tasks()
          .map(([n]) => n)
          .sort(),
      ).toEqual([
        'task-analysis.json',
        'task-collector-shard-0.json',
        'task-collector-shard-1.json',
        'task-collector-shard-2.json',
        'task-discover.json',
        'task-vod.json',
      ]);
    });

    it('run real CLI commands from our images, on Fargate, logging to /vieweratlas/*', () => {
      const stageNames = parseDockerfile(read('infrastructure/docker/Dockerfile')).map((s) => s.name);
      for (const [name, t] of tasks()) {
        expect(t.requiresCompatibilities).toEqual(['FARGATE']);
        expect(t.networkMode).toBe('awsvpc');
        expect(FARGATE[t.cpu], `${name} cpu ${t.cpu}`).toBeDefined();
        expect(FARGATE[t.cpu]).toContain(Number(t.memory));
        const c = t.containerDefinitions[0];
        expect(t.containerDefinitions).toHaveLength(1);
        const image = /\/vieweratlas-(\w+):/.exec(c?.image ?? '')?.[1];
        expect(stageNames, `${name} image ${c?.image}`).toContain(image);
        expectCliCommand(c?.command ?? [], name);
        expect(c?.healthCheck.command).toEqual([
          'CMD',
          'node',
          'infrastructure/docker/healthcheck.mjs',
          c?.command[0],
        ]);
        expect(c?.linuxParameters?.initProcessEnabled).toBe(true);
        expect(c?.logConfiguration.logDriver).toBe('awslogs');
        const group = c?.logConfiguration.options['awslogs-group'] as string;
        expect(group).toMatch(/^\/vieweratlas\/(collector|analysis|vod|discover)$/);
        expect(run.out).toContain(`create-log-group --log-group-name ${group}`);
      }
    });

    it('set only environment variables the code reads, and the config they make validates', () => {
      for (const [name, t] of tasks()) {
        const c = t.containerDefinitions[0];
        const env = Object.fromEntries((c?.environment ?? []).map((e) => [e.name, e.value]));
        for (const k of [...Object.keys(env), ...(c?.secrets ?? []).map((s) => s.name)]) {
          expect(READ_ENV.has(k), `${name}: ${k} is read by nothing in src/`).toBe(true);
        }
        const config = loadConfig({ env, cwd: EMPTY_CWD });
        expect(config.storage.driver, name).toBe('s3');
        expect(config.s3.bucket).toBe('vieweratlas-123456789012-us-east-1');
        expect(config.s3.prefix).toBe('vieweratlas/');
        expect(config.metrics.namespace).toBe(DEFAULTS.metrics.namespace);
        if (name.startsWith('task-collector')) {
          const shard = resolveShard(config.shard, env);
          expect(`task-collector-shard-${shard.index}.json`).toBe(name);
          expect(shard.count).toBe(3);
          expect(config.privacy.pseudonymize).toBe(true);
          expect(c?.secrets?.map((s) => s.name)).toEqual([DEFAULTS.privacy.key_env]);
        }
        if (name === 'task-analysis.json') {
          expect(config.athena.workgroup).toBe('vieweratlas');
          expect(config.athena.output_location).toBe(
            's3://vieweratlas-123456789012-us-east-1/vieweratlas/athena-results/',
          );
        }
      }
    });

    it('each role they assume exists with its own policy', () => {
      for (const [name, t] of tasks()) {
        for (const arn of [t.taskRoleArn, t.executionRoleArn]) {
          const role = arn.split('/').pop() as string;
          expect(run.out, `${name}: role ${role}`).toContain(`put-role-policy --role-name ${role} `);
        }
      }
    });
  });

  describe('IAM', () => {
    type Statement = {
      Effect: string;
      Action: string | string[];
      Resource: string | string[];
      Condition?: Record<string, Record<string, string | string[]>>;
    };
    const policies = () =>
      readdirSync(rendered)
        .filter((n) => n.startsWith('policy-'))
        .map((n) => [n, (file(n) as { Statement: Statement[] }).Statement] as const);
    const list = (v: string | string[]) => [v].flat();
    const bucketArn = 'arn:aws:s3:::vieweratlas-123456789012-us-east-1';

    it('grants no wildcard actions and no "*" resource except ECR login', () => {
      expect(policies().length).toBe(6);
      for (const [name, statements] of policies()) {
        for (const s of statements) {
          expect(s.Effect).toBe('Allow');
          for (const a of list(s.Action)) expect(a, name).not.toMatch(/(^\*$|:\*$)/);
          if (list(s.Resource).includes('*'))
            expect(list(s.Action), name).toEqual(['ecr:GetAuthorizationToken']);
        }
      }
    });

    it('scopes S3 to the bucket prefix, Athena to the workgroup, Glue to the database', () => {
      for (const [name, statements] of policies()) {
        for (const s of statements) {
          const actions = list(s.Action);
          const resources = list(s.Resource);
          if (
            actions.some((a) => a.startsWith('s3:') && a !== 's3:ListBucket' && a !== 's3:GetBucketLocation')
          ) {
            for (const r of resources)
              expect(r, name).toMatch(new RegExp(`^${bucketArn}/vieweratlas/[a-z-]+/`));
          }
          if (actions.includes('s3:ListBucket')) {
            expect(resources).toEqual([bucketArn]);
            for (const p of list(s.Condition?.StringLike?.['s3:prefix'] ?? []))
              expect(p, name).toMatch(/^vieweratlas\/[a-z-]+\/(\w+\/)?\*$/);
            expect(
              s.Condition?.StringLike?.['s3:prefix'],
              `${name}: ListBucket without a prefix condition`,
            ).toBeDefined();
          }
          if (actions.some((a) => a.startsWith('athena:'))) {
            expect(resources).toEqual(['arn:aws:athena:us-east-1:123456789012:workgroup/vieweratlas']);
          }
          if (actions.some((a) => a.startsWith('glue:'))) {
            for (const r of resources)
              expect(r).toMatch(
                /^arn:aws:glue:us-east-1:123456789012:(catalog|database\/vieweratlas|table\/vieweratlas\/\*)$/,
              );
          }
        }
      }
    });

    it('lets each task do what its code does on S3 (the S3 driver’s calls → IAM actions)', () => {
      const allowed = (role: string, action: string, key: string) =>
        (file(`policy-vieweratlas-${role}.json`) as { Statement: Statement[] }).Statement.some(
          (s) =>
            list(s.Action).includes(action) &&
            list(s.Resource).some((r) => `${bucketArn}/vieweratlas/${key}`.startsWith(r.replace(/\*$/, ''))),
        );
      const rawKey = LAYOUT.rawPresence('live', Date.UTC(2026, 10, 24), 'c1');
      const partKey = LAYOUT.presencePart('live', '2026-11-24', '0001');
      // collector: append (PutObject), read its hour file (GetObject), compaction (Put/Delete)
      for (const a of ['s3:PutObject', 's3:GetObject', 's3:DeleteObject'])
        expect(allowed('collector-task', a, rawKey), a).toBe(true);
      expect(allowed('collector-task', 's3:PutObject', partKey)).toBe(true);
      // discover appends metadata only
      expect(
        allowed('discover-task', 's3:PutObject', LAYOUT.rawMetadata(Date.UTC(2026, 10, 24), 'discover')),
      ).toBe(true);
      expect(allowed('discover-task', 's3:GetObject', rawKey)).toBe(false);
      // vod writes raw presence and its idempotency markers
      expect(allowed('vod-task', 's3:PutObject', rawKey.replace('source=live', 'source=vod'))).toBe(true);
      expect(allowed('vod-task', 's3:PutObject', LAYOUT.vodIngested('123'))).toBe(true);
      expect(allowed('vod-task', 's3:PutObject', partKey)).toBe(false);
      // analysis reads everything, compacts, may not touch the VOD markers
      expect(allowed('analysis-task', 's3:GetObject', partKey)).toBe(true);
      expect(allowed('analysis-task', 's3:DeleteObject', rawKey)).toBe(true);
      expect(allowed('analysis-task', 's3:PutObject', LAYOUT.vodIngested('1'))).toBe(false);
    });
  });

  describe('schedules', () => {
    it('discover hourly, vod nightly, analysis daily, each running a registered task definition', () => {
      const expected: Record<string, [RegExp, string]> = {
        'schedule-discover.json': [/^rate\(1 hour\)$/, 'vieweratlas-discover'],
        'schedule-vod.json': [/^cron\(0 \d+ \* \* \? \*\)$/, 'vieweratlas-vod'],
        'schedule-analyze.json': [/^cron\(0 \d+ \* \* \? \*\)$/, 'vieweratlas-analysis'],
      };
      const scheduler = JSON.stringify(file('policy-vieweratlas-scheduler.json'));
      for (const [name, [expr, family]] of Object.entries(expected)) {
        const s = file(name) as {
          ScheduleExpression: string;
          Target: {
            RoleArn: string;
            EcsParameters: {
              TaskDefinitionArn: string;
              NetworkConfiguration: { awsvpcConfiguration: { Subnets: string[] } };
            };
          };
        };
        expect(s.ScheduleExpression).toMatch(expr);
        expect(s.Target.EcsParameters.TaskDefinitionArn.endsWith(`task-definition/${family}`)).toBe(true);
        expect((file(`task-${family.replace('vieweratlas-', '')}.json`) as { family: string }).family).toBe(
          family,
        );
        expect(scheduler).toContain(`task-definition/${family}:*`);
        expect(s.Target.RoleArn.endsWith('role/vieweratlas-scheduler')).toBe(true);
        expect(s.Target.EcsParameters.NetworkConfiguration.awsvpcConfiguration.Subnets).toEqual([
          'subnet-dryrun1',
          'subnet-dryrun2',
        ]);
      }
    });
  });

  describe('monitoring', () => {
    /** Metric names and namespaces a file refers to (Metrics Insights queries and plain metrics). */
    function watched(doc: unknown): { metrics: string[]; namespaces: string[]; dimensions: string[] } {
      const text = JSON.stringify(doc);
      const metrics = [...text.matchAll(/(?:SUM|AVG|MAX|MIN|COUNT)\((\w+)\)/g)].map((m) => m[1] as string);
      const namespaces = [...text.matchAll(/SCHEMA\(\\"([^\\]+)\\"/g)].map((m) => m[1] as string);
      const dimensions = [...text.matchAll(/SCHEMA\(\\"[^\\]+\\",\s*(\w+)\)/g)].map((m) => m[1] as string);
      for (const m of text.matchAll(/"MetricName":"(\w+)"/g)) metrics.push(m[1] as string);
      for (const m of text.matchAll(/"Namespace":"([^"]+)"/g)) namespaces.push(m[1] as string);
      for (const m of text.matchAll(/\["([^"]+)","(\w+)",\{/g)) {
        namespaces.push(m[1] as string);
        metrics.push(m[2] as string);
      }
      return { metrics, namespaces, dimensions };
    }

    it('alarms and the dashboard watch only metrics the code emits, in its namespace and dimensions', () => {
      const files = readdirSync(rendered).filter((n) => n.startsWith('alarm-') || n === 'dashboard.json');
      expect(files.length).toBe(6);
      const all = new Set<string>();
      for (const name of files) {
        const w = watched(file(name));
        expect(w.metrics.length, name).toBeGreaterThan(0);
        for (const m of w.metrics) {
          expect(EMITTED_METRICS.has(m), `${name} watches ${m}, which nothing emits`).toBe(true);
          all.add(m);
        }
        for (const ns of w.namespaces) expect(ns, name).toBe(DEFAULTS.metrics.namespace);
        for (const d of w.dimensions)
          expect(COLLECTOR_DIMENSIONS.has(d), `${name}: dimension ${d}`).toBe(true);
      }
      // every emitted metric is on the dashboard or behind an alarm
      expect([...all].sort()).toEqual([...EMITTED_METRICS].sort());
    });

    it('alarms cover messages/s, reconnects, flush failures and analysis duration, and notify SNS', () => {
      const alarmed = new Set<string>();
      for (const name of readdirSync(rendered).filter((n) => n.startsWith('alarm-'))) {
        const a = file(name) as { AlarmActions: string[]; OKActions: string[] };
        expect(a.AlarmActions).toEqual(['arn:aws:sns:us-east-1:123456789012:vieweratlas-alerts']);
        for (const m of watched(a).metrics) alarmed.add(m);
      }
      expect([...alarmed].sort()).toEqual([
        'AnalysisDurationMs',
        'FlushFailures',
        'MessagesPerSecond',
        'Reconnects',
      ]);
    });
  });

  describe('Athena schema', () => {
    // partition projection's own placeholders (Athena fills them in, deploy.sh leaves them)
    const ATHENA_SOURCE = ['$', '{source}'].join('');
    const ATHENA_DT = ['$', '{dt}'].join('');
    const sql = () => readFileSync(join(rendered, 'athena-schema.sql'), 'utf8');
    const table = (name: string) => {
      const m = new RegExp(
        `CREATE EXTERNAL TABLE IF NOT EXISTS vieweratlas\\.${name} \\(([\\s\\S]*?)\\n\\)\\nPARTITIONED BY \\(([^)]*)\\)[\\s\\S]*?TBLPROPERTIES \\(([\\s\\S]*?)\\n\\);`,
      ).exec(sql());
      if (!m) throw new Error(`athena-schema.sql: no CREATE EXTERNAL TABLE ${name}`);
      const [, cols = '', parts = '', tblprops = ''] = m;
      const columns = cols.split(',\n').map((l) => l.trim().split(/\s+/).slice(0, 2).join(' '));
      const partitions = parts.split(',').map((p) => p.trim());
      const props = Object.fromEntries(
        [...tblprops.matchAll(/'([^']+)' = '([^']*)'/g)].map((p) => [p[1], p[2]]),
      );
      return { columns, partitions, props };
    };

    it('presence: the compacted columns, partitions source and dt with projection, the layout’s paths', () => {
      const t = table('presence');
      expect(t.columns).toEqual([
        'channel string',
        'viewer string',
        'ts timestamp',
        'messages bigint',
        'vod_id string',
        'kind string',
      ]);
      expect(t.partitions).toEqual(['source string', 'dt string']);
      expect(t.props['projection.enabled']).toBe('true');
      expect(t.props['projection.source.type']).toBe('enum');
      expect(t.props['projection.source.values']?.split(',')).toEqual([...PRESENCE_SOURCES]);
      expect(t.props['projection.dt.type']).toBe('date');
      const template = t.props['storage.location.template'] as string;
      const key = LAYOUT.presencePart('vod', '2026-11-24', '0001');
      const dir = template.replace(ATHENA_SOURCE, 'vod').replace(ATHENA_DT, '2026-11-24');
      expect(`s3://vieweratlas-123456789012-us-east-1/vieweratlas/${key}`.startsWith(dir)).toBe(true);
    });

    it('channel_metadata: the metadata columns, partitioned by dt in the layout', () => {
      const t = table('channel_metadata');
      expect(t.columns.map((c) => c.split(' ')[0])).toEqual([
        'channel',
        'display_name',
        'language',
        'game',
        'viewer_count',
        'observed_at',
      ]);
      expect(t.partitions).toEqual(['dt string']);
      const dir = (t.props['storage.location.template'] as string).replace(ATHENA_DT, '2026-11-24');
      expect(
        `s3://vieweratlas-123456789012-us-east-1/vieweratlas/${LAYOUT.metadataPart('2026-11-24', 'x')}`.startsWith(
          dir,
        ),
      ).toBe(true);
    });

    it('runs each DDL statement through the workgroup', () => {
      const ddl = run.err
        .split('\n')
        .filter((l) => l.includes('athena start-query-execution --work-group vieweratlas'));
      expect(ddl).toHaveLength(3);
    });
  });

  it('SSE-KMS: tasks get the key id, task roles may use the key through S3 only', () => {
    const key = 'arn:aws:kms:us-east-1:123456789012:key/1111-2222';
    const kms = dryRun([], { SSE: 'aws:kms', KMS_KEY_ARN: key });
    try {
      expect(kms.status).toBe(0);
      const task = json<{ containerDefinitions: { environment: { name: string; value: string }[] }[] }>(
        join(kms.dir, 'rendered', 'task-collector-shard-0.json'),
      );
      const env = Object.fromEntries(
        task.containerDefinitions[0]?.environment.map((e) => [e.name, e.value]) ?? [],
      );
      const config = loadConfig({ env, cwd: EMPTY_CWD });
      expect(config.s3.sse).toBe('aws:kms');
      expect(config.s3.kms_key_id).toBe(key);
      const policy = json<{ Statement: { Resource: string; Condition: unknown }[] }>(
        join(kms.dir, 'rendered', 'policy-kms.json'),
      );
      expect(policy.Statement[0]?.Resource).toBe(key);
      expect(JSON.stringify(policy.Statement[0]?.Condition)).toContain('s3.us-east-1.amazonaws.com');
      expect(
        kms.out.match(/put-role-policy --role-name vieweratlas-\w+-task --policy-name vieweratlas-kms/g),
      ).toHaveLength(4);
      expect(kms.out).toMatch(/SSEAlgorithm\\?":\\?"aws:kms/);
    } finally {
      rmSync(kms.dir, { recursive: true, force: true });
    }
    const noKey = dryRun([], { SSE: 'aws:kms' });
    rmSync(noKey.dir, { recursive: true, force: true });
    expect(noKey.status).toBe(1);
    expect(noKey.err).toContain('SSE=aws:kms needs KMS_KEY_ARN');
  });

  it('changing the shard count renders that many collector services', () => {
    const one = dryRun(['--shards', '1']);
    try {
      expect(one.status).toBe(0);
      expect(one.out.match(/ecs create-service/g)).toHaveLength(1);
    } finally {
      rmSync(one.dir, { recursive: true, force: true });
    }
    const bad = dryRun(['--shards', '0']);
    rmSync(bad.dir, { recursive: true, force: true });
    expect(bad.status).toBe(1);
    expect(bad.err).toContain('SHARD_COUNT must be a positive integer');
  });
});
