/**
 * DOC: @mm/kernel: the composed kernel model and the mmsim CLI.
 * @packageDocumentation
 */

export { type DemoOptions, type DemoSection, formatSections, runDemo } from './demo.js';
export { type CliCommand, main, parseArgs, USAGE } from './mmsim.js';
