/**
 * DOC: mmsim, the command line of the composed kernel model (argument
 * parsing and dispatch; `cli.ts` is the executable that calls {@link main}).
 *
 *   mmsim demo [--preset small|server2s|large] [--seed N]
 *   mmsim help
 */
import { MmError, PRESETS, type PresetName } from '@mm/machine';
import { formatSections, runDemo } from './demo.js';

/** Result of parsing the command line: what to run, or a usage error. */
export type CliCommand =
  | {
      /** Run the demo. */
      readonly kind: 'demo';
      /** The machine preset. */
      readonly preset: PresetName;
      /** The seed of the machine's random streams. */
      readonly seed?: number;
    }
  | {
      /** Print the usage. */
      readonly kind: 'help';
    }
  | {
      /** A usage error. */
      readonly kind: 'error';
      /** What was wrong. */
      readonly message: string;
    };

/** The usage text. */
export const USAGE = `usage: mmsim demo [--preset ${Object.keys(PRESETS).join('|')}] [--seed N]
       mmsim help`;

/** Parse `argv` (without node and script). */
export function parseArgs(argv: readonly string[]): CliCommand {
  const [cmd = 'demo', ...rest] = argv;
  if (cmd === 'help' || cmd === '--help' || cmd === '-h') return { kind: 'help' };
  if (cmd !== 'demo') return { kind: 'error', message: `mmsim: unknown command "${cmd}"` };
  let preset: PresetName = 'small';
  let seed: number | undefined;
  for (let i = 0; i < rest.length; i++) {
    const a = rest[i];
    const v = rest[i + 1];
    if (a === '--preset') {
      if (v === undefined || !(v in PRESETS))
        return { kind: 'error', message: `mmsim: --preset needs one of ${Object.keys(PRESETS).join(', ')}` };
      preset = v as PresetName;
      i++;
    } else if (a === '--seed') {
      if (v === undefined || !/^\d+$/.test(v)) return { kind: 'error', message: '--seed needs a non-negative integer' };
      seed = Number(v);
      i++;
    } else {
      return { kind: 'error', message: `mmsim: unknown option "${a}"` };
    }
  }
  return seed === undefined ? { kind: 'demo', preset } : { kind: 'demo', preset, seed };
}

/** Run the CLI; returns the exit code. */
export function main(argv: readonly string[], out: (s: string) => void, err: (s: string) => void): number {
  const cmd = parseArgs(argv);
  switch (cmd.kind) {
    case 'help':
      out(`${USAGE}\n`);
      return 0;
    case 'error':
      err(`${cmd.message}\n${USAGE}\n`);
      return 2;
    case 'demo':
      try {
        out(
          formatSections(
            runDemo(cmd.seed === undefined ? { preset: cmd.preset } : { preset: cmd.preset, seed: cmd.seed }),
          ),
        );
        return 0;
      } catch (e) {
        if (MmError.isInstance(e)) {
          err(`${e.message}\n`);
          return 1;
        }
        throw e;
      }
  }
}
