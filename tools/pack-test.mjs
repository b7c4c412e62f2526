#!/usr/bin/env node
// DOC: the pack-and-install test (part of `npm test`): every published package
// of the workspace, found by its package.json (so packages added later are
// covered without listing them), is packed as `pnpm publish` would pack it,
// checked, and installed alone into a fresh project outside the workspace,
// with npm and nothing but its own tarball and its @mm dependencies' tarballs
// (`npm install --offline`). There, per package:
//
//   tarball      LICENSE, README, no tests; one copy of the sources (every
//                source map points into the shipped src/ and embeds none);
//                declaration maps when src/ ships; no `workspace:` ranges;
//                repository/homepage/bugs/keywords/license
//   install      npm installs it with one copy of every @mm package
//   readme       its README's ```ts / ```js blocks, as written: TypeScript
//                blocks type-checked (below) and run with tsx, JavaScript
//                blocks run with node. A trailing comment that starts with a
//                value (`m.topology.nrCpus; // 32`, `console.log(x); // 'a'`,
//                `f(); // [1, 0]: the fallback order`) is checked against what
//                the statement evaluates to (for console.log: its argument).
//                Every README needs at least one checked result. Blocks of
//                the repository's own README.md run in the project of the
//                package they import.
//   ts           TypeScript consumers: the blocks type-check as .mts and .cts
//                under `module: node20` and `nodenext`, and as .ts under
//                `moduleResolution: bundler` (DOM lib, no @types/node), strict;
//                the package's declarations are checked too (skipLibCheck off
//                in the bundler variant)
//   esm          ESM smoke: node runs what tsc emitted for the .mts blocks,
//                asserting every checked result; every value export the
//                declarations name exists at run time, and import and
//                require() give the same objects (one copy)
//   cjs          CJS smoke: the same through require() (the emitted .cjs)
//   browser      the blocks bundled with esbuild for the browser and run in
//                headless Chromium (Debian's `chromium`, installed with
//                apt-get when missing; driven by playwright-core)
//   bin          each executable the package installs answers `--help`
//
// A failure names the package and the step and prints what the step printed;
// all packages are tried, then the test exits 1.
//
// Usage: node tools/pack-test.mjs [--only name,name] [--keep]
//   --only   test these packages (short or full names)
//   --keep   keep the temporary projects (kept anyway when a package fails)
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  realpathSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { performance } from 'node:perf_hooks';
import { workspacePackages } from './package-template.mjs';
import { blockImports, CHECK_RUNTIME, instrument, readmeBlocks } from './readme-examples.mjs';

const root = realpathSync(join(dirname(new URL(import.meta.url).pathname), '..'));
const requireFromRoot = createRequire(join(root, 'package.json'));
const ts = requireFromRoot('typescript');

const args = process.argv.slice(2);
const keep = args.includes('--keep');
const onlyAt = args.indexOf('--only');
const only = onlyAt >= 0 ? new Set((args[onlyAt + 1] ?? '').split(',').filter(Boolean)) : undefined;

const CHROMIUM = '/usr/bin/chromium';
const CHROMIUM_FLAGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];
const RUN_TIMEOUT_MS = 180_000;
// The consumer projects see a plain environment: none of the npm_config_* /
// pnpm settings that `pnpm exec` passes down to this script.
const consumerEnv = Object.fromEntries(Object.entries(process.env).filter(([k]) => !/^(npm_|pnpm_|PNPM_)/i.test(k)));
const EXT = { ts: 'ts', js: 'mjs', cjs: 'cjs' };

// ---------------------------------------------------------------- reporting

class StepError extends Error {
  constructor(step, message, output = '') {
    super(message);
    this.step = step;
    this.output = output;
  }
}

const timings = [];
async function step(pkg, name, fn) {
  const t0 = performance.now();
  try {
    return await fn();
  } catch (e) {
    if (e instanceof StepError) throw e;
    throw new StepError(name, e instanceof Error ? (e.stack ?? e.message) : String(e));
  } finally {
    timings.push({ pkg, step: name, ms: performance.now() - t0 });
  }
}

const tail = (text, n = 80) => {
  const lines = text.trimEnd().split('\n');
  return (lines.length > n ? [`... (${lines.length - n} lines before)`, ...lines.slice(-n)] : lines).join('\n');
};

/** Runs a command; resolves with its output, rejects with a StepError. */
function run(stepName, cmd, argv, opts = {}) {
  return new Promise((res, rej) => {
    const child = spawn(cmd, argv, { env: consumerEnv, ...opts, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d) => {
      out += d;
    });
    child.stderr.on('data', (d) => {
      out += d;
    });
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      out += `\n(killed after ${RUN_TIMEOUT_MS / 1000} s)`;
    }, opts.timeout ?? RUN_TIMEOUT_MS);
    child.on('error', (e) => {
      clearTimeout(timer);
      rej(new StepError(stepName, `${cmd}: ${e.message}`, out));
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      if (code === 0) res(out);
      else rej(new StepError(stepName, `\`${[cmd, ...argv].join(' ')}\` exited ${code ?? signal}`, out));
    });
  });
}

// ------------------------------------------------------------------- tarballs

function pack(dest) {
  // `pnpm pack` is what `pnpm publish` (and so `changeset publish`) uploads:
  // workspace: ranges replaced by versions.
  const out = execFileSync(
    process.execPath,
    [join(root, 'tools', 'pnpm.mjs'), '-r', 'pack', '--pack-destination', dest, '--json'],
    { cwd: root, encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] },
  );
  const list = JSON.parse(out.slice(out.indexOf('[')));
  return new Map(list.map((p) => [p.name, p.filename]));
}

function walk(dir, base = dir, out = []) {
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const abs = join(dir, e.name);
    if (e.isDirectory()) walk(abs, base, out);
    else out.push(relative(base, abs).split(sep).join('/'));
  }
  return out;
}

/** The tarball checks; returns the unpacked manifest. */
function checkTarball(tgz, unpackDir) {
  mkdirSync(unpackDir, { recursive: true });
  execFileSync('tar', ['-xzf', tgz, '-C', unpackDir]);
  const dir = join(unpackDir, 'package');
  const files = walk(dir);
  const has = new Set(files);
  const problems = [];
  const manifest = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8'));
  for (const f of ['package.json', 'README.md', 'LICENSE'])
    if (!has.has(f)) problems.push(`${f} is not in the tarball`);
  if (has.has('LICENSE') && !/^MIT License/.test(readFileSync(join(dir, 'LICENSE'), 'utf8'))) {
    problems.push('LICENSE is not the MIT licence that package.json names');
  }
  if (manifest.license !== 'MIT') problems.push(`license is ${JSON.stringify(manifest.license)}, not "MIT"`);
  for (const f of files) {
    if (/(^|\/)(test|tests|bench|__tests__)\//.test(f) || /\.(test|spec|bench)\.[cm]?[jt]s$/.test(f)) {
      problems.push(`${f}: tests and benchmarks are not published`);
    }
  }
  const shipsSrc = files.some((f) => f.startsWith('src/') && f.endsWith('.ts'));
  for (const f of files.filter((x) => x.endsWith('.map'))) {
    const map = JSON.parse(readFileSync(join(dir, f), 'utf8'));
    if (Array.isArray(map.sourcesContent) && map.sourcesContent.some((c) => c != null)) {
      problems.push(`${f} embeds the sources (sourcesContent): a second copy of src/`);
    }
    for (const s of map.sources ?? []) {
      const target = resolve(dirname(join(dir, f)), map.sourceRoot ?? '', s);
      if (!target.startsWith(dir + sep) || !existsSync(target))
        problems.push(`${f} points at ${s}, which is not shipped`);
    }
  }
  if (shipsSrc) {
    for (const f of files.filter((x) => x.endsWith('.d.ts'))) {
      if (!has.has(`${f}.map`)) problems.push(`${f} has no declaration map, though src/ ships`);
    }
  }
  for (const key of ['keywords', 'repository', 'homepage', 'bugs']) {
    if (manifest[key] == null || (Array.isArray(manifest[key]) && manifest[key].length === 0)) {
      problems.push(`package.json has no "${key}"`);
    }
  }
  if (typeof manifest.repository === 'object' && !manifest.repository.directory) {
    problems.push('package.json "repository" has no "directory"');
  }
  for (const field of ['dependencies', 'peerDependencies', 'optionalDependencies']) {
    for (const [dep, range] of Object.entries(manifest[field] ?? {})) {
      if (String(range).startsWith('workspace:')) problems.push(`${field}.${dep} is still ${range}`);
    }
  }
  if (problems.length > 0) throw new StepError('tarball', problems.join('\n'));
  return { manifest, files };
}

// ---------------------------------------------------------------- TypeScript

const libCache = new Map();
function compilerHost(options) {
  const host = ts.createCompilerHost(options, true);
  const get = host.getSourceFile.bind(host);
  host.getSourceFile = (fileName, langOrOptions, onError, shouldCreate) => {
    // The TypeScript libs and @types/node are the same for every program.
    if (!fileName.startsWith(root)) return get(fileName, langOrOptions, onError, shouldCreate);
    const key = `${fileName}\0${JSON.stringify(langOrOptions)}`;
    let sf = libCache.get(key);
    if (!sf) {
      sf = get(fileName, langOrOptions, onError, shouldCreate);
      libCache.set(key, sf);
    }
    return sf;
  };
  return host;
}

function tsOptions(dir, json) {
  const { options, errors } = ts.convertCompilerOptionsFromJson(
    {
      target: 'es2022',
      strict: true,
      skipLibCheck: false,
      skipDefaultLibCheck: true,
      noEmit: true,
      forceConsistentCasingInFileNames: true,
      ...json,
    },
    dir,
  );
  if (errors.length > 0) throw new Error(ts.flattenDiagnosticMessageText(errors[0].messageText, '\n'));
  return options;
}

function formatDiagnostics(diags, fileToBlock) {
  return diags
    .map((d) => {
      const text = ts.flattenDiagnosticMessageText(d.messageText, '\n');
      if (!d.file) return `TS${d.code}: ${text}`;
      const { line, character } = d.file.getLineAndCharacterOfPosition(d.start ?? 0);
      const b = fileToBlock.get(resolve(d.file.fileName));
      if (b) return `${b.file}:${b.line + line}:${character + 1} TS${d.code}: ${text}`;
      return `${relative(process.cwd(), d.file.fileName)}:${line + 1}:${character + 1} TS${d.code}: ${text}`;
    })
    .join('\n');
}

/** Value exports of `name` as its declarations state them (type-only re-exports left out). */
function declaredValueExports(program, consumerFile, name) {
  const checker = program.getTypeChecker();
  const sf = program.getSourceFile(consumerFile);
  const decl = sf.statements.find((s) => ts.isImportDeclaration(s) && s.moduleSpecifier.text === name);
  const mod = checker.getSymbolAtLocation(decl.moduleSpecifier);
  if (!mod) throw new Error(`${name}: its declarations cannot be resolved`);
  const names = [];
  for (const sym of checker.getExportsOfModule(mod)) {
    let s = sym;
    let typeOnly = false;
    while (s.flags & ts.SymbolFlags.Alias) {
      for (const d of s.declarations ?? []) {
        if (ts.isExportSpecifier(d) && (d.isTypeOnly || d.parent.parent.isTypeOnly)) typeOnly = true;
        if (ts.isImportSpecifier(d) && (d.isTypeOnly || d.parent.parent.isTypeOnly)) typeOnly = true;
      }
      const next = checker.getImmediateAliasedSymbol(s);
      if (!next || next === s) break;
      s = next;
    }
    if (!typeOnly && s.flags & ts.SymbolFlags.Value) names.push(sym.name);
  }
  return names;
}

// ------------------------------------------------------------------- browser

let browserPromise;
async function ensureChromium() {
  if (existsSync(CHROMIUM)) return;
  if (process.getuid?.() !== 0) {
    throw new StepError(
      'browser',
      `${CHROMIUM} is missing: install Debian's chromium (apt-get install chromium) as root`,
    );
  }
  console.log('pack-test: installing Debian’s chromium with apt-get (once per machine)');
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  const install = () =>
    spawnSync('apt-get', ['install', '-y', '--no-install-recommends', 'chromium'], { env, encoding: 'utf8' });
  let r = install();
  if (r.status !== 0) {
    spawnSync('apt-get', ['update'], { env, stdio: 'ignore' });
    r = install();
  }
  if (r.status !== 0 || !existsSync(CHROMIUM)) {
    throw new StepError('browser', 'apt-get could not install chromium', `${r.stdout ?? ''}${r.stderr ?? ''}`);
  }
}

async function browser() {
  browserPromise ??= (async () => {
    await ensureChromium();
    const { chromium } = requireFromRoot('playwright-core');
    return chromium.launch({ executablePath: CHROMIUM, headless: true, args: CHROMIUM_FLAGS, timeout: 60_000 });
  })();
  return browserPromise;
}

async function runInChromium(code) {
  const b = await browser();
  const page = await b.newPage();
  const log = [];
  page.on('console', (m) => log.push(`[${m.type()}] ${m.text()}`));
  page.on('pageerror', (e) => log.push(`[pageerror] ${e.stack ?? e.message}`));
  try {
    await page.addScriptTag({ content: code });
    let timer;
    const result = await Promise.race([
      page.evaluate(() => globalThis.__mmRun()),
      new Promise((_, rej) => {
        timer = setTimeout(() => rej(new Error(`timed out after ${RUN_TIMEOUT_MS / 1000} s`)), RUN_TIMEOUT_MS);
      }),
    ]).finally(() => clearTimeout(timer));
    if (!result.ok) throw new StepError('browser', result.error, log.join('\n'));
    return result.checks;
  } catch (e) {
    if (e instanceof StepError) throw e;
    throw new StepError('browser', e.message, log.join('\n'));
  } finally {
    await page.close();
  }
}

// ------------------------------------------------------------- one package

async function testPackage(ctx, pkgName) {
  const { tarballs, manifests, rootBlocks, base } = ctx;
  const short = pkgName.replace(/^@mm\//, '');
  const proj = join(base, 'projects', short);
  const blocksDir = join(proj, 'blocks');
  mkdirSync(blocksDir, { recursive: true });
  const T = (name, fn) => step(pkgName, name, fn);
  // Steps after the README one are independent: each runs, and their
  // failures are reported together.
  const failed = [];
  const soft = async (name, fn) => {
    try {
      return await T(name, fn);
    } catch (e) {
      failed.push(e instanceof StepError ? e : new StepError(name, String(e)));
      return undefined;
    }
  };

  // Its @mm dependencies, transitively, from the packed manifests.
  const closure = [pkgName];
  for (let i = 0; i < closure.length; i++) {
    const m = manifests.get(closure[i]);
    for (const dep of Object.keys({ ...m.dependencies, ...m.peerDependencies })) {
      if (dep.startsWith('@mm/') && !closure.includes(dep)) {
        if (!tarballs.has(dep))
          throw new StepError('install', `depends on ${dep}, which the workspace does not publish`);
        closure.push(dep);
      }
    }
  }

  await T('install', async () => {
    writeFileSync(
      join(proj, 'package.json'),
      `${JSON.stringify({ name: 'mm-consumer', version: '0.0.0', private: true, type: 'module' }, null, 2)}\n`,
    );
    await run(
      'install',
      'npm',
      [
        'install',
        '--offline',
        '--no-audit',
        '--no-fund',
        '--no-package-lock',
        '--loglevel=error',
        ...closure.map((n) => tarballs.get(n)),
      ],
      { cwd: proj, env: { ...consumerEnv, npm_config_update_notifier: 'false' } },
    );
    const copies = new Map();
    const scan = (dir) => {
      for (const e of readdirSync(dir, { withFileTypes: true })) {
        if (!e.isDirectory()) continue;
        const abs = join(dir, e.name);
        if (e.name === '@mm') {
          for (const n of readdirSync(abs)) {
            copies.set(`@mm/${n}`, [...(copies.get(`@mm/${n}`) ?? []), join(abs, n)]);
            if (existsSync(join(abs, n, 'node_modules'))) scan(join(abs, n, 'node_modules'));
          }
        } else if (existsSync(join(abs, 'node_modules'))) scan(join(abs, 'node_modules'));
      }
    };
    scan(join(proj, 'node_modules'));
    for (const [n, where] of copies) {
      if (where.length > 1) throw new StepError('install', `${n} installed ${where.length} times: ${where.join(', ')}`);
    }
    for (const n of closure) if (!copies.has(n)) throw new StepError('install', `${n} was not installed`);
  });

  // README blocks: the shipped README's, plus the repository README's that import this package.
  const readme = readFileSync(join(proj, 'node_modules', pkgName, 'README.md'), 'utf8');
  const blocks = [...readmeBlocks(readme, `${short}/README.md`), ...(rootBlocks.get(pkgName) ?? [])];
  const prepared = await T('readme', async () => {
    if (blocks.length === 0) {
      throw new StepError('readme', 'README.md has no ```ts or ```js example (the template asks for a runnable one)');
    }
    const out = blocks.map((b, i) => {
      const { code, checks } = instrument(b, b.file);
      const stem = `b${i + 1}`;
      return { ...b, stem, instrumented: code, checks };
    });
    if (!out.some((b) => b.checks.length > 0 && b.file.endsWith('/README.md') && b.file.startsWith(short))) {
      throw new StepError(
        'readme',
        'README.md has no checked result: end a statement of an example with a comment holding its value (`x.size; // 3`)',
      );
    }
    for (const b of out) writeFileSync(join(blocksDir, `${b.stem}.${EXT[b.kind]}`), `${b.instrumented}\n`);
    writeFileSync(
      join(proj, 'mm-check.mjs'),
      `${CHECK_RUNTIME}\nexport { checkAllRan, checkExports, checkOneCopy };\n`,
    );
    writeFileSync(
      join(proj, 'mm-check.cjs'),
      `${CHECK_RUNTIME}\nmodule.exports = { checkAllRan, checkExports, checkOneCopy };\n`,
    );
    writeFileSync(
      join(proj, 'mm-globals.d.ts'),
      'declare function __mmCheck<T>(actual: T, expected: unknown, where: string): T;\n',
    );
    return out;
  });
  const tsBlocks = prepared.filter((b) => b.kind === 'ts');
  const allChecks = prepared.flatMap((b) => b.checks);
  // ```cjs blocks (require()) run only in the CommonJS smoke.
  const esmChecks = prepared.filter((b) => b.kind !== 'cjs').flatMap((b) => b.checks);
  const installed = closure;

  // TypeScript consumers.
  let expected = new Map();
  await soft('ts', async () => {
    const variants = [
      // The declarations themselves are checked once, in the bundler variant
      // (skipLibCheck off there; the TypeScript libs are skipped everywhere).
      {
        dir: 'nodenext',
        ext: ['mts', 'cts'],
        json: {
          module: 'nodenext',
          skipLibCheck: true,
          types: ['node'],
          typeRoots: [join(root, 'node_modules', '@types')],
          noEmit: false,
          outDir: join(proj, 'out'),
          rootDir: join(proj, 'ts', 'nodenext'),
        },
      },
      {
        dir: 'node20',
        ext: ['mts', 'cts'],
        json: {
          module: 'node20',
          skipLibCheck: true,
          types: ['node'],
          typeRoots: [join(root, 'node_modules', '@types')],
        },
      },
      {
        dir: 'bundler',
        ext: ['ts'],
        json: { module: 'esnext', moduleResolution: 'bundler', lib: ['es2022', 'dom'], types: [] },
      },
    ];
    const errors = [];
    for (const v of variants) {
      const dir = join(proj, 'ts', v.dir);
      mkdirSync(dir, { recursive: true });
      const fileToBlock = new Map();
      const files = [join(proj, 'mm-globals.d.ts')];
      for (const b of tsBlocks) {
        for (const ext of v.ext) {
          const f = join(dir, `${b.stem}.${ext}`);
          writeFileSync(f, `${b.instrumented}\n`);
          files.push(f);
          fileToBlock.set(f, { file: `${b.file} as .${ext} (${v.dir})`, line: b.line });
        }
      }
      // The declared value exports, read through the bundler variant.
      const consumer = join(dir, 'mm-exports.ts');
      if (v.dir === 'bundler') {
        writeFileSync(
          consumer,
          `${installed.map((n, i) => `import * as ns${i} from '${n}';`).join('\n')}\nexport { ${installed.map((_, i) => `ns${i}`).join(', ')} };\n`,
        );
        files.push(consumer);
      }
      const options = tsOptions(dir, v.json);
      const program = ts.createProgram({ rootNames: files, options, host: compilerHost(options) });
      const diags = ts.getPreEmitDiagnostics(program);
      if (diags.length > 0) errors.push(`${v.dir}:\n${formatDiagnostics(diags, fileToBlock)}`);
      // Emitted even with type errors, so that the run steps still say what they can.
      if (v.dir === 'nodenext' && program.emit().emitSkipped) errors.push(`${v.dir}: emit skipped`);
      if (v.dir === 'bundler') {
        expected = new Map(installed.map((n) => [n, declaredValueExports(program, consumer, n)]));
      }
    }
    if (errors.length > 0) throw new StepError('ts', `the README examples do not type-check:\n${errors.join('\n')}`);
  });

  const spec = {
    blocks: prepared.map((b) => ({ stem: b.stem, kind: b.kind })),
    checks: allChecks,
    esmChecks,
    exports: Object.fromEntries(expected),
  };
  const specJson = JSON.stringify(spec);

  // Executables: the installed bin links run and answer --help.
  const bin = manifests.get(pkgName).bin;
  const bins = typeof bin === 'string' ? [short] : Object.keys(bin ?? {});
  if (bins.length > 0) {
    await soft('bin', async () => {
      for (const name of bins) {
        const out = await run('bin', join(proj, 'node_modules', '.bin', name), ['--help'], { cwd: proj });
        if (out.trim() === '') throw new StepError('bin', `\`${name} --help\` printed nothing`);
      }
    });
  }

  await soft('tsx', async () => {
    const runner = join(proj, 'run-tsx.ts');
    writeFileSync(
      runner,
      `import { checkAllRan, checkExports } from './mm-check.mjs';
${installed.map((n, i) => `import * as ns${i} from '${n}';`).join('\n')}
const spec = ${specJson};
${installed.map((n, i) => `checkExports(${JSON.stringify(n)}, ns${i}, spec.exports[${JSON.stringify(n)}]);`).join('\n')}
for (const b of spec.blocks) if (b.kind !== 'cjs') await import(\`./blocks/\${b.stem}.\${b.kind === 'ts' ? 'ts' : 'mjs'}\`);
console.log('mm-pack-test: ' + checkAllRan(spec.esmChecks) + ' checks');
`,
    );
    const cli = requireFromRoot.resolve('tsx/cli');
    return run('tsx', process.execPath, [cli, runner], { cwd: proj });
  });

  // What tsc emitted for the .mts/.cts blocks (nodenext), plus the JS blocks.
  const out = join(proj, 'out');
  mkdirSync(out, { recursive: true });
  const esbuild = requireFromRoot('esbuild');
  for (const b of prepared.filter((x) => x.kind === 'cjs'))
    writeFileSync(join(out, `${b.stem}.cjs`), `${b.instrumented}\n`);
  for (const b of prepared.filter((x) => x.kind === 'js')) {
    writeFileSync(join(out, `${b.stem}.mjs`), `${b.instrumented}\n`);
    const cjs = await esbuild.transform(b.instrumented, { format: 'cjs', loader: 'js', target: 'es2022' });
    writeFileSync(join(out, `${b.stem}.cjs`), cjs.code);
  }
  writeFileSync(join(out, 'mm-check.mjs'), readFileSync(join(proj, 'mm-check.mjs')));
  writeFileSync(join(out, 'mm-check.cjs'), readFileSync(join(proj, 'mm-check.cjs')));

  await soft('esm', async () => {
    const f = join(out, 'smoke.mjs');
    writeFileSync(
      f,
      `import { createRequire } from 'node:module';
import { checkAllRan, checkExports, checkOneCopy } from './mm-check.mjs';
${installed.map((n, i) => `import * as ns${i} from '${n}';`).join('\n')}
const require = createRequire(import.meta.url);
const spec = ${specJson};
${installed.map((n, i) => `checkExports(${JSON.stringify(n)}, ns${i}, spec.exports[${JSON.stringify(n)}]);\ncheckOneCopy(${JSON.stringify(n)}, ns${i}, require(${JSON.stringify(n)}));`).join('\n')}
for (const b of spec.blocks) if (b.kind !== 'cjs') await import('./' + b.stem + '.mjs');
console.log('mm-pack-test: ' + checkAllRan(spec.esmChecks) + ' checks');
`,
    );
    return run('esm', process.execPath, [f], { cwd: proj });
  });

  await soft('cjs', async () => {
    const f = join(out, 'smoke.cjs');
    writeFileSync(
      f,
      `'use strict';
const { checkAllRan, checkExports, checkOneCopy } = require('./mm-check.cjs');
const spec = ${specJson};
(async () => {
${installed.map((n) => `  checkExports(${JSON.stringify(n)}, require(${JSON.stringify(n)}), spec.exports[${JSON.stringify(n)}]);\n  checkOneCopy(${JSON.stringify(n)}, await import(${JSON.stringify(n)}), require(${JSON.stringify(n)}));`).join('\n')}
  for (const b of spec.blocks) require('./' + b.stem + '.cjs');
  console.log('mm-pack-test: ' + checkAllRan(spec.checks) + ' checks');
})().catch((e) => {
  console.error(e);
  process.exit(1);
});
`,
    );
    return run('cjs', process.execPath, [f], { cwd: proj });
  });

  await soft('browser', async () => {
    const entry = join(proj, 'page.ts');
    writeFileSync(
      entry,
      `import { checkAllRan, checkExports } from './mm-check.mjs';
${installed.map((n, i) => `import * as ns${i} from '${n}';`).join('\n')}
const spec = ${specJson};
(globalThis as unknown as { __mmRun: () => Promise<unknown> }).__mmRun = async () => {
  try {
${installed.map((n, i) => `    checkExports(${JSON.stringify(n)}, ns${i}, spec.exports[${JSON.stringify(n)}]);`).join('\n')}
${prepared
  .filter((b) => b.kind !== 'cjs')
  .map((b) => `    await import('./blocks/${b.stem}.${EXT[b.kind]}');`)
  .join('\n')}
    return { ok: true, checks: checkAllRan(spec.esmChecks) };
  } catch (e) {
    return { ok: false, error: e instanceof Error ? (e.stack ?? e.message) : String(e) };
  }
};
`,
    );
    let bundle;
    try {
      bundle = await esbuild.build({
        entryPoints: [entry],
        bundle: true,
        format: 'iife',
        platform: 'browser',
        target: 'es2022',
        write: false,
        absWorkingDir: proj,
        logLevel: 'silent',
      });
    } catch (e) {
      throw new StepError('browser', `esbuild could not bundle the page for the browser:\n${e.message}`);
    }
    const checks = await runInChromium(bundle.outputFiles[0].text);
    return `mm-pack-test: ${checks} checks`;
  });
  if (failed.length > 0) {
    const e = new StepError(
      failed.map((f) => f.step).join(', '),
      failed.map((f) => `[${f.step}] ${f.message}`).join('\n'),
    );
    e.output = failed
      .filter((f) => f.output?.trim())
      .map((f) => `[${f.step}]\n${tail(f.output, 40)}`)
      .join('\n');
    throw e;
  }
  const steps = [...new Set(timings.filter((t) => t.pkg === pkgName).map((t) => t.step))];
  return { closure, checks: allChecks.length, blocks: prepared.length, steps };
}

// ------------------------------------------------------------------------ main

async function main() {
  const t0 = performance.now();
  const all = workspacePackages();
  const selected = all.filter((p) => !only || only.has(p.pkg.name) || only.has(p.pkg.name.replace(/^@mm\//, '')));
  if (selected.length === 0) {
    console.error('pack-test: no package selected');
    process.exit(2);
  }
  const base = mkdtempSync(join(tmpdir(), 'mm-pack-test-'));
  if (realpathSync(base).startsWith(root + sep))
    throw new Error('pack-test: the temporary folder must be outside the workspace');
  const failures = [];
  const results = [];
  const tarballs = pack(join(base, 'tarballs'));
  const manifests = new Map();
  const sizes = new Map();
  for (const { pkg } of all) {
    const tgz = tarballs.get(pkg.name);
    if (!tgz) {
      failures.push({ pkg: pkg.name, step: 'pack', message: 'pnpm pack made no tarball' });
      continue;
    }
    try {
      const { manifest, files } = await step(pkg.name, 'tarball', () =>
        checkTarball(tgz, join(base, 'unpacked', pkg.name.replace('/', '+'))),
      );
      manifests.set(pkg.name, manifest);
      sizes.set(pkg.name, { packed: statSync(tgz).size, files: files.length });
    } catch (e) {
      failures.push({ pkg: pkg.name, step: e.step ?? 'tarball', message: e.message, output: e.output });
    }
  }

  // The repository README's blocks run in the project of the package they import.
  const rootBlocks = new Map();
  for (const b of readmeBlocks(readFileSync(join(root, 'README.md'), 'utf8'), 'README.md')) {
    const imports = [...new Set(blockImports(b.code))];
    const home = imports.find((n) => imports.every((m) => m === n || closureOf(manifests, n).includes(m)));
    if (!home) {
      failures.push({
        pkg: 'README.md',
        step: 'readme',
        message: `the block at line ${b.line} imports ${imports.join(', ') || 'no @mm package'}, which no single package's install provides`,
      });
    } else rootBlocks.set(home, [...(rootBlocks.get(home) ?? []), b]);
  }

  const ctx = { tarballs, manifests, rootBlocks, base };
  // Two packages at a time: while one type-checks (in this process), the
  // other's npm, node and Chromium runs proceed.
  const queue = selected.filter(({ pkg }) => manifests.has(pkg.name)).map(({ pkg }) => pkg.name);
  const worker = async () => {
    for (let name = queue.shift(); name !== undefined; name = queue.shift()) {
      const t1 = performance.now();
      try {
        const r = await testPackage(ctx, name);
        results.push({ name, ...r, ms: performance.now() - t1 });
        console.log(
          `pack-test: ${name} ok (${r.blocks} README blocks, ${r.checks} checked results; ${r.steps.join(', ')}) ${((performance.now() - t1) / 1000).toFixed(1)} s`,
        );
      } catch (e) {
        const f = { pkg: name, step: e.step ?? 'internal', message: e.message, output: e.output };
        failures.push(f);
        console.error(`pack-test: FAILED ${name}, step(s) ${f.step}`);
      }
    }
  };
  await Promise.all([worker(), worker()]);
  if (browserPromise) await (await browserPromise.catch(() => undefined))?.close();

  console.log('\npack-test: tarballs');
  for (const [name, s] of sizes)
    console.log(`  ${name.padEnd(20)} ${String(s.packed).padStart(8)} B packed, ${s.files} files`);
  // Summed over packages (two run at a time, so the sum exceeds the total).
  const byStep = new Map();
  for (const t of timings) byStep.set(t.step, (byStep.get(t.step) ?? 0) + t.ms);
  console.log(
    `pack-test: time by step: ${[...byStep].map(([s, ms]) => `${s} ${(ms / 1000).toFixed(1)} s`).join(', ')}; total ${((performance.now() - t0) / 1000).toFixed(1)} s`,
  );

  if (failures.length > 0) {
    for (const f of failures) {
      console.error(`\n=== pack-test FAILED: ${f.pkg}, step(s) ${f.step} ===\n${f.message}`);
      if (f.output?.trim()) console.error(`--- output ---\n${tail(f.output)}`);
    }
    console.error(`\npack-test: ${failures.length} failure(s); the projects are kept in ${base}`);
    process.exit(1);
  }
  if (!keep) rmSync(base, { recursive: true, force: true });
  else console.log(`pack-test: projects kept in ${base}`);
  console.log(`pack-test: ${results.length} packages passed`);
}

function closureOf(manifests, name) {
  const out = [name];
  for (let i = 0; i < out.length; i++) {
    for (const dep of Object.keys(manifests.get(out[i])?.dependencies ?? {})) {
      if (dep.startsWith('@mm/') && !out.includes(dep)) out.push(dep);
    }
  }
  return out;
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
