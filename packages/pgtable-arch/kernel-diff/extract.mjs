#!/usr/bin/env node
// DOC: pull named definitions out of kernel headers for the kernel-diff
// harness, the way the kernel's tools/ shims reuse kernel code in userspace.
//
// Usage: node extract.mjs <kernel-src> <spec> <unifdef-binary>  > out.h
// The spec is a list of lines:
//   unifdef <flags...>      flags for every following file (-DCONFIG_X=1, -UCONFIG_Y)
//   file <path>             the header (or .c file) the next names come from
//   define <name...>        #define lines (with continuations)
//   func <name...>          static inline functions (whole body)
//   any <name...>           a #define if there is one, else the function
//   any <name...>           a #define if there is one, else the function
//   array <name...>         a static array initializer (`... name[...] ... = { ... };`),
//                           emitted as a global plus `<name>_init()` that fills it
//   enum <name...>          `enum name { ... };`
//   raw <text>              a line copied as is
// Each file is first run through the kernel's own scripts/unifdef with the
// flags, so configuration conditionals are resolved the kernel's way. A name
// found more than once (an unresolved conditional) is an error. Nothing of the
// kernel is written into the repository: the output lives in .build/.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const [ksrc, specPath, unifdef] = process.argv.slice(2);
if (!ksrc || !specPath || !unifdef) {
  console.error('usage: extract.mjs <kernel-src> <spec> <unifdef>');
  process.exit(2);
}
const out = [];
let flags = [];
let text = '';
let file = '';

const tmp = mkdtempSync(join(tmpdir(), 'kdiff-extract-'));
process.on('exit', () => rmSync(tmp, { recursive: true, force: true }));

function load(path) {
  file = path;
  // unifdef knows defined(X) but not the kernel's IS_ENABLED(X) / IS_BUILTIN(X).
  const src = readFileSync(join(ksrc, path), 'utf8').replace(
    /\bIS_(?:ENABLED|BUILTIN)\((CONFIG_\w+)\)/g,
    'defined($1)',
  );
  const t = join(tmp, 'in.h');
  writeFileSync(t, src);
  try {
    text = execFileSync(unifdef, [...flags, t], { encoding: 'utf8', maxBuffer: 1 << 26 });
  } catch (e) {
    // unifdef exits 1 when it changed something: that is success.
    if (e.status === 1) text = e.stdout;
    else throw e;
  }
}

function fail(msg) {
  console.error(`extract: ${file}: ${msg}`);
  process.exit(1);
}

function all(re) {
  const hits = [];
  for (const m of text.matchAll(re)) hits.push(m.index);
  return hits;
}

function lineEnd(i) {
  let j = i;
  for (;;) {
    const nl = text.indexOf('\n', j);
    if (nl < 0) return text.length;
    if (text[nl - 1] !== '\\') return nl;
    j = nl + 1;
  }
}

function braceBlock(start, open) {
  let depth = 0;
  for (let i = open; i < text.length; i++) {
    const c = text[i];
    if (c === '{') depth++;
    else if (c === '}') {
      depth--;
      if (depth === 0) {
        let end = i + 1;
        if (text[end] === ';') end++;
        return text.slice(start, end);
      }
    }
  }
  fail('unbalanced braces');
}

function one(hits, what) {
  if (hits.length === 0) fail(`${what} not found`);
  if (hits.length > 1) fail(`${what} found ${hits.length} times (an unresolved conditional?)`);
  return hits[0];
}

const esc = (s) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
for (const raw of readFileSync(specPath, 'utf8').split('\n')) {
  const line = raw.replace(/#.*$/, '').trim();
  if (line === '') continue;
  const [kw, ...args] = line.split(/\s+/);
  if (kw === 'unifdef') flags = args;
  else if (kw === 'file') load(args[0]);
  else if (kw === 'raw') out.push(raw.trim().slice(4));
  else if (kw === 'define' || kw === 'func' || kw === 'any') {
    for (const name of args) {
      const defs = all(new RegExp(`^#\\s*define\\s+${esc(name)}\\b`, 'gm'));
      const funcs = all(new RegExp(`^static\\s+(?:__always_inline|inline)[^;{=]*?\\b${esc(name)}\\s*\\(`, 'gm'));
      if (kw === 'define' || (kw === 'any' && defs.length > 0)) {
        const i = one(defs, `#define ${name}`);
        out.push(text.slice(i, lineEnd(i)));
      } else {
        const i = one(funcs, `function ${name}`);
        out.push(braceBlock(i, text.indexOf('{', i)));
      }
    }
  } else if (kw === 'array') {
    for (const name of args) {
      const i = one(
        all(new RegExp(`^[^\\n;]*\\b${esc(name)}\\s*\\[[^\\]]*\\][^=\\n]*=\\s*\\{`, 'gm')),
        `array ${name}`,
      );
      // Emitted as a global filled by <name>_init(): compound-literal elements
      // (`[VM_READ] = PAGE_READONLY`) are not constant initializers in userspace C.
      const block = braceBlock(i, text.indexOf('{', i)).replace(/__ro_after_init|__initdata|\bconst\b|\bstatic\b/g, '');
      const m = block.match(new RegExp(`^\\s*(.*?)\\b${esc(name)}\\s*\\[([^\\]]*)\\]`));
      const type = m[1].trim();
      const body = block.slice(block.indexOf('{'));
      out.push(
        `static ${type} ${name}[${m[2]}];\nstatic void ${name}_init(void)\n{\n\t${type} tmp[${m[2]}] = ${body.replace(/;\s*$/, '')};\n\tfor (unsigned long i = 0; i < sizeof(tmp) / sizeof(tmp[0]); i++)\n\t\t${name}[i] = tmp[i];\n}`,
      );
    }
  } else if (kw === 'enum') {
    for (const name of args) {
      const i = one(all(new RegExp(`^enum\\s+${esc(name)}\\s*\\{`, 'gm')), `enum ${name}`);
      out.push(braceBlock(i, text.indexOf('{', i)));
    }
  } else fail(`bad spec line '${raw}'`);
}
process.stdout.write(
  `/* Extracted from ${ksrc} by extract.mjs: build output, never committed. */\n${out.join('\n\n')}\n`,
);
