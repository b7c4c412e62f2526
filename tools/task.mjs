#!/usr/bin/env node
// DOC: the root tasks behind `npm run demo|test|release|bench|docs`. Each one does
// its own set-up on a fresh clone (pinned pnpm via tools/pnpm.mjs, frozen
// install, turbo builds), so a machine with only Node 20 and npm needs
// nothing else.
//
//   demo  build @mm/kernel and what it depends on, run `mmsim demo`
//         (extra arguments go to mmsim: npm run demo -- --preset server2s)
//   test  build, typecheck, lint, package checks (publint, attw, the package
//         template), the pack-and-install test (tools/pack-test.mjs), the API
//         docs' validation, then every vitest project; vitest's summary is the
//         last thing printed
//   release the checks above, then `changeset publish` (maintainers only;
//         extra arguments go to it, e.g. --otp 123456)
//   bench every package's bench/ (one at a time), into bench-results/
//   docs  TypeDoc for all packages into docs-site/
import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const [task, ...rest] = process.argv.slice(2);

function run(args, opts = {}) {
  const r = spawnSync(process.execPath, [join(root, 'tools', 'pnpm.mjs'), ...args], {
    stdio: 'inherit',
    cwd: root,
    ...opts,
  });
  if (r.status !== 0) process.exit(r.status ?? 1);
}

const install = () => run(['install', '--frozen-lockfile', '--prefer-offline', '--reporter=append-only']);

switch (task) {
  case 'demo':
    install();
    run(['exec', 'turbo', 'run', 'build', '--filter=@mm/kernel...', '--output-logs=errors-only']);
    run(['--filter', '@mm/kernel', 'exec', 'node', 'dist/cli.js', ...(rest.length > 0 ? rest : ['demo'])]);
    break;
  case 'test':
    install();
    run(['exec', 'turbo', 'run', 'build', 'typecheck', 'lint', 'check-exports', '--output-logs=errors-only']);
    run([
      'exec',
      'biome',
      'check',
      'tools',
      'package.json',
      'turbo.json',
      'biome.json',
      'vitest.config.ts',
      '.changeset',
    ]);
    run(['exec', 'tsc', '-p', 'tsconfig.json']);
    run(['exec', 'node', 'tools/check-changesets.mjs']);
    run(['exec', 'node', 'tools/check-packages.mjs']);
    // Every package from its packed tarball, alone in a fresh project: README
    // examples, ESM, CommonJS, TypeScript consumers, Chromium.
    run(['exec', 'node', 'tools/pack-test.mjs']);
    // API docs of every package converted and validated (warnings are errors;
    // each package's typedoc.json switches its doc-coverage check on or off).
    run(['exec', 'typedoc', '--emit', 'none', '--logLevel', 'Warn']);
    run(['exec', 'vitest', 'run', ...rest]);
    break;
  case 'release':
    // What `npm test` checks of the packages, then changesets' own publishing:
    // every package whose version is not on the registry yet, dependencies
    // first, each packed by pnpm (workspace: ranges replaced) and git-tagged.
    install();
    run(['exec', 'turbo', 'run', 'build', 'check-exports', '--output-logs=errors-only']);
    run(['exec', 'node', 'tools/check-packages.mjs']);
    run(['exec', 'node', 'tools/pack-test.mjs']);
    run(['exec', 'changeset', 'publish', ...rest]);
    break;
  case 'bench':
    install();
    run(['exec', 'turbo', 'run', 'bench', '--concurrency=1', ...rest]);
    break;
  case 'docs':
    install();
    run(['exec', 'turbo', 'run', 'build', '--output-logs=errors-only']);
    run(['exec', 'typedoc', '--treatWarningsAsErrors']);
    break;
  default:
    console.error('usage: node tools/task.mjs demo|test|release|bench|docs [args...]');
    process.exit(2);
}
