#!/usr/bin/env node
// DOC: part of `npm test`: every .changeset/*.md must parse as a changeset
// (front matter of `"<package>": major|minor|patch` lines naming workspace
// packages, then a summary), so a formatter or a hand edit cannot silently
// break the release notes.
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const names = new Set(
  ['packages', 'apps'].flatMap((d) =>
    readdirSync(join(root, d)).flatMap((n) => {
      try {
        return [JSON.parse(readFileSync(join(root, d, n, 'package.json'), 'utf8')).name];
      } catch {
        return [];
      }
    }),
  ),
);
const dir = join(root, '.changeset');
let bad = 0;
for (const f of readdirSync(dir).filter((x) => x.endsWith('.md') && x !== 'README.md')) {
  const text = readFileSync(join(dir, f), 'utf8');
  const m = /^---\n([\s\S]*?)\n---\n([\s\S]*)$/.exec(text);
  const problems = [];
  if (!m) problems.push('no front matter: the file must start with a line "---", the package lines, and a line "---"');
  else {
    const lines = m[1].split('\n');
    lines.forEach((line, i) => {
      if (line.trim() === '' || line.trim().startsWith('#')) return; // YAML blank and comment lines
      const r = /^(["'])(.+)\1:\s*(major|minor|patch)\s*$/.exec(line);
      if (!r) problems.push(`line ${i + 2}: expected '"<package>": major|minor|patch', got ${JSON.stringify(line)}`);
      else if (!names.has(r[2])) problems.push(`line ${i + 2}: no workspace package named ${r[2]}`);
    });
    if (m[2].trim() === '') problems.push('no summary after the front matter');
  }
  for (const p of problems) console.error(`.changeset/${f}: ${p}`);
  if (problems.length > 0) bad++;
}
if (bad > 0) {
  console.error(`check-changesets: ${bad} broken changeset file(s)`);
  process.exit(1);
}
