// The README example machinery of the pack-and-install test: which comments
// are results, how statements are wrapped, and what the checker accepts.
import { describe, expect, it } from 'vitest';
import { blockImports, CHECK_RUNTIME, instrument, leadingLiteral, readmeBlocks } from '../readme-examples.mjs';

const runtime = new Function(`${CHECK_RUNTIME}\nreturn { checkAllRan, checkExports, checkOneCopy };`)();

/** Runs instrumented code (no imports) the way the smokes do; returns what it logged. */
function runBlock(code) {
  const logged = [];
  new Function('console', code)({ log: (...a) => logged.push(a) });
  return logged;
}

describe('leadingLiteral', () => {
  it.each([
    ['32', '32'],
    ["'a'", "'a'"],
    ['-12', '-12'],
    ['"1 C0=1\\n"', '"1 C0=1\\n"'],
    ['[1, 0]: the zonelist fallback order', '[1, 0]'],
    ['0x500: lowest free range of 0x100', '0x500'],
    ['true: negative errno, no throw', 'true'],
    ['{ index: 1, wrapped: false }', '{ index: 1, wrapped: false }'],
    ['undefined', 'undefined'],
    ['0\n', '0'],
  ])('%j is the result %j', (comment, want) => {
    expect(leadingLiteral(comment.trim())).toBe(want);
  });

  it.each([
    'numactl --hardware style',
    '4 pages on node 1, or -ENOMEM',
    '100 ms: CPU 1 holds the grace period back',
    '-ENOMEM',
    'an address (integer handle) or -ENOMEM',
    '{ hits: 1, misses: 4, ... }',
    '[a, b]',
    '',
  ])('%j is prose', (comment) => {
    expect(leadingLiteral(comment)).toBeNull();
  });
});

describe('readmeBlocks', () => {
  it('finds ts, js and cjs blocks with the README line of their first line, and skips others', () => {
    const md = ['# x', '```ts', 'a;', '```', '```sh', 'npm i', '```', '```cjs', 'b;', '```', '```js', 'c;', '```'].join(
      '\n',
    );
    expect(readmeBlocks(md, 'R.md')).toEqual([
      { file: 'R.md', kind: 'ts', line: 3, code: 'a;' },
      { file: 'R.md', kind: 'cjs', line: 9, code: 'b;' },
      { file: 'R.md', kind: 'js', line: 12, code: 'c;' },
    ]);
  });

  it('names the @mm packages a block imports or requires', () => {
    expect(blockImports("import { a } from '@mm/machine';\nconst b = require('@mm/maple-tree');")).toEqual([
      '@mm/machine',
      '@mm/maple-tree',
    ]);
  });
});

describe('instrument', () => {
  const block = { file: 'R.md', kind: 'ts', line: 10 };

  it('wraps result statements (console.log: its argument), keeps every line, keys by README line', () => {
    const code = [
      'const a = [1, 2];',
      'a.length; // 2',
      'console.log(a[0]); // 1: the first',
      'a.push(3); // grows',
    ].join('\n');
    const { code: out, checks } = instrument({ ...block, code }, 'R.md');
    expect(out.split('\n')).toHaveLength(4);
    expect(checks).toEqual(['R.md:11', 'R.md:12']);
    expect(out).toContain('__mmCheck((a.length), 2, "R.md:11")');
    expect(out).toContain('console.log(__mmCheck((a[0]), 1, "R.md:12"))');
    expect(out).toContain('a.push(3); // grows');
  });

  it('finds result statements nested in blocks', () => {
    const code =
      'try {\n  JSON.parse("{");\n} catch (e) {\n  if (e instanceof SyntaxError) console.log(e.name); // "SyntaxError"\n}';
    const { checks } = instrument({ ...block, code }, 'R.md');
    expect(checks).toEqual(['R.md:13']);
  });

  it('runs: a true comment passes, a false one throws naming the README line', () => {
    const ok = instrument(
      { ...block, code: 'const m = new Map([[1, "x"]]);\nm.size; // 1\n[...m.keys()]; // [1]' },
      'R.md',
    );
    runBlock(ok.code);
    expect(runtime.checkAllRan(ok.checks)).toBe(2);
    const bad = instrument({ ...block, code: 'const s = "ab";\ns.length; // 3' }, 'R.md');
    expect(() => runBlock(bad.code)).toThrow('R.md:11: the comment says 3, the code gives 2');
  });
});

describe('the checker', () => {
  it('compares array-likes element-wise and objects by their keys', () => {
    expect(globalThis.__mmCheck(new Int32Array([1, 0]), [1, 0], 'x')).toEqual(new Int32Array([1, 0]));
    expect(() => globalThis.__mmCheck([1, 0, 2], [1, 0], 'x')).toThrow('x: the comment says [1,0]');
    expect(() => globalThis.__mmCheck({ a: 1, b: 2 }, { a: 1 }, 'x')).toThrow();
    expect(() => globalThis.__mmCheck('1', 1, 'x')).toThrow();
    expect(globalThis.__mmCheck(Number.NaN, Number.NaN, 'x')).toBeNaN();
  });

  it('reports result comments that never ran', () => {
    expect(() => runtime.checkAllRan(['never:1'])).toThrow('never ran: never:1');
  });

  it('compares run-time exports with the declared ones, and import with require()', () => {
    expect(() => runtime.checkExports('p', { a: 1, b: 2 }, ['a', 'b'])).not.toThrow();
    expect(() => runtime.checkExports('p', { a: 1 }, ['a', 'b'])).toThrow('missing at run time: b');
    expect(() => runtime.checkExports('p', { a: 1, c: 3 }, ['a'])).toThrow('not in its types: c');
    const f = () => 0;
    expect(() => runtime.checkOneCopy('p', { f }, { f })).not.toThrow();
    expect(() => runtime.checkOneCopy('p', { f }, { f: () => 0 })).toThrow('two copies of f');
  });
});
