// DOC: README examples as the pack-and-install test runs them
// (tools/pack-test.mjs): the ```ts / ```js / ```cjs blocks of a README, each
// statement with a result comment wrapped in a check, and the checker that
// every run loads first. A result comment is a trailing `//` comment that
// starts with a value: `x; // 32`, `f(); // 'a'`, `g(); // [1, 0]: prose`.
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ts = createRequire(join(dirname(fileURLToPath(import.meta.url)), '..', 'package.json'))('typescript');

/** ```ts / ```js blocks of a markdown file, with the README line of their first line. */
export function readmeBlocks(text, file) {
  const blocks = [];
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const m = /^```(\w+)?\s*$/.exec(lines[i]);
    if (!m) continue;
    let j = i + 1;
    while (j < lines.length && !/^```\s*$/.test(lines[j])) j++;
    const lang = (m[1] ?? '').toLowerCase();
    const kind = ['ts', 'typescript'].includes(lang)
      ? 'ts'
      : ['js', 'javascript', 'mjs'].includes(lang)
        ? 'js'
        : lang === 'cjs'
          ? 'cjs'
          : null;
    if (kind) blocks.push({ file, kind, line: i + 2, code: lines.slice(i + 1, j).join('\n') });
    i = j;
  }
  return blocks;
}

const LITERAL_CUTS = /[:,;]|\s\(|\s—|\s-\s/g;

function isLiteral(node) {
  const k = ts.SyntaxKind;
  switch (node.kind) {
    case k.NumericLiteral:
    case k.BigIntLiteral:
    case k.StringLiteral:
    case k.NoSubstitutionTemplateLiteral:
    case k.TrueKeyword:
    case k.FalseKeyword:
    case k.NullKeyword:
      return true;
    case k.Identifier:
      return ['undefined', 'NaN', 'Infinity'].includes(node.text);
    case k.PrefixUnaryExpression:
      return (
        (node.operator === k.MinusToken || node.operator === k.PlusToken) &&
        (node.operand.kind === k.NumericLiteral || (ts.isIdentifier(node.operand) && node.operand.text === 'Infinity'))
      );
    case k.ParenthesizedExpression:
      return isLiteral(node.expression);
    case k.ArrayLiteralExpression:
      return node.elements.every(isLiteral);
    case k.ObjectLiteralExpression:
      return node.properties.every(
        (p) =>
          ts.isPropertyAssignment(p) &&
          (ts.isIdentifier(p.name) || ts.isStringLiteral(p.name) || ts.isNumericLiteral(p.name)) &&
          isLiteral(p.initializer),
      );
    default:
      return false;
  }
}

/** The value a result comment starts with (`32`, `'a'`, `[1, 0]: ...`), or null for prose. */
export function leadingLiteral(comment) {
  const cuts = [comment.length];
  for (const m of comment.matchAll(LITERAL_CUTS)) cuts.push(m.index);
  let best = null;
  for (const cut of cuts) {
    const cand = comment.slice(0, cut).trim();
    if (cand === '' || (best !== null && cand.length <= best.length)) continue;
    const sf = ts.createSourceFile('c.ts', `(${cand});`, ts.ScriptTarget.ES2022, true, ts.ScriptKind.TS);
    if (sf.parseDiagnostics.length > 0 || sf.statements.length !== 1) continue;
    const st = sf.statements[0];
    if (ts.isExpressionStatement(st) && isLiteral(st.expression)) best = cand;
  }
  return best;
}

/**
 * Wraps every statement that has a result comment in `__mmCheck((expr),
 * expected, "README.md:LINE")`, keeping every line where it was (so type
 * errors and failures point at README lines). Returns the code and the checks.
 */
export function instrument(block, where) {
  const { code } = block;
  const sf = ts.createSourceFile('b.ts', code, ts.ScriptTarget.ES2022, true, ts.ScriptKind.TS);
  const edits = [];
  const checks = [];
  const visit = (node) => {
    if (ts.isExpressionStatement(node)) {
      const comment = (ts.getTrailingCommentRanges(code, node.getEnd()) ?? [])[0];
      if (comment && comment.kind === ts.SyntaxKind.SingleLineCommentTrivia) {
        const expected = leadingLiteral(code.slice(comment.pos + 2, comment.end).trim());
        if (expected !== null) {
          let expr = node.expression;
          if (
            ts.isCallExpression(expr) &&
            expr.arguments.length === 1 &&
            expr.expression.getText(sf) === 'console.log'
          ) {
            expr = expr.arguments[0];
          }
          const line = block.line + sf.getLineAndCharacterOfPosition(expr.getStart(sf)).line;
          const key = `${where}:${line}`;
          checks.push(key);
          edits.push({ pos: expr.getStart(sf), text: '__mmCheck((' });
          edits.push({ pos: expr.getEnd(), text: `), ${expected}, ${JSON.stringify(key)})` });
        }
      }
    }
    ts.forEachChild(node, visit);
  };
  visit(sf);
  let out = code;
  for (const e of edits.sort((a, b) => b.pos - a.pos)) out = out.slice(0, e.pos) + e.text + out.slice(e.pos);
  return { code: out, checks };
}

/** @mm packages a block imports. */
export function blockImports(code) {
  return [...code.matchAll(/(?:from\s+|require\(\s*)['"](@mm\/[a-z0-9-]+)['"]/g)].map((m) => m[1]);
}

// The checker every run loads first (node ESM, CJS, tsx, Chromium): plain JS.
export const CHECK_RUNTIME = `
const ran = new Set();
function show(v) {
  if (typeof v === 'string') return JSON.stringify(v);
  if (v === undefined) return 'undefined';
  if (typeof v === 'bigint') return v + 'n';
  if (ArrayBuffer.isView(v)) return v.constructor.name + ' ' + JSON.stringify(Array.from(v));
  try { return JSON.stringify(v) ?? String(v); } catch { return String(v); }
}
function same(a, e) {
  if (typeof e === 'number') return typeof a === 'number' && (a === e || (a !== a && e !== e));
  if (e === null || typeof e !== 'object') return a === e;
  if (a === null || typeof a !== 'object') return false;
  if (Array.isArray(e)) {
    if (typeof a.length !== 'number' || a.length !== e.length) return false;
    for (let i = 0; i < e.length; i++) if (!same(a[i], e[i])) return false;
    return true;
  }
  const ka = Object.keys(a).sort(), ke = Object.keys(e).sort();
  return ka.length === ke.length && ke.every((k, i) => k === ka[i] && same(a[k], e[k]));
}
globalThis.__mmCheck = (actual, expected, where) => {
  ran.add(where);
  if (!same(actual, expected)) {
    throw new Error(where + ': the comment says ' + show(expected) + ', the code gives ' + show(actual));
  }
  return actual;
};
function checkAllRan(keys) {
  const missed = keys.filter((k) => !ran.has(k));
  if (missed.length > 0) throw new Error('result comments whose statement never ran: ' + missed.join(', '));
  return keys.length;
}
function checkExports(name, ns, expected) {
  const got = Object.keys(ns).filter((k) => k !== 'default' && k !== '__esModule' && k !== 'module.exports').sort();
  const want = [...expected].sort();
  const missing = want.filter((k) => !got.includes(k));
  const extra = got.filter((k) => !want.includes(k));
  if (missing.length > 0) throw new Error(name + ': declared in its types but missing at run time: ' + missing.join(', '));
  if (extra.length > 0) throw new Error(name + ': exported at run time but not in its types: ' + extra.join(', '));
}
function checkOneCopy(name, esm, cjs) {
  for (const k of Object.keys(esm)) {
    if (k !== 'default' && esm[k] !== cjs[k]) throw new Error(name + ': import and require() give two copies of ' + k);
  }
}
`;
