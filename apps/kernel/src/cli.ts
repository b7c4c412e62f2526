#!/usr/bin/env node
/**
 * DOC: the `mmsim` executable: runs {@link main} on the process's arguments.
 */
import { main } from './mmsim.js';

process.exitCode = main(
  process.argv.slice(2),
  (s) => process.stdout.write(s),
  (s) => process.stderr.write(s),
);
