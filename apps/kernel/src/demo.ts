/**
 * DOC: the demo: the project's main job on embedded defaults.
 *
 * Boots a machine from a preset and prints what the composed kernel model can
 * show so far. It grows with every subsystem package: each one adds its
 * section (buddyinfo, VMAs in a maple tree, slabinfo, ...).
 */
import { createMachine, formatTopology, type MachineConfig, type PresetName } from '@mm/machine';

/** Options of {@link runDemo}. */
export interface DemoOptions {
  /** Machine preset (default `small`). */
  readonly preset?: PresetName;
  /** Seed of the machine's random streams. */
  readonly seed?: number;
}

/** One titled block of demo output. */
export interface DemoSection {
  readonly title: string;
  readonly text: string;
}

/** Run the demo and return its sections (the CLI prints them). */
export function runDemo(options: DemoOptions = {}): DemoSection[] {
  const config: MachineConfig = {
    preset: options.preset ?? 'small',
    ...(options.seed === undefined ? {} : { seed: options.seed }),
  };
  const machine = createMachine(config);
  const sections: DemoSection[] = [];
  sections.push({ title: 'topology (numactl --hardware)', text: formatTopology(machine) });
  const t = machine.topology;
  const sample = machine.prng.stream('demo');
  const draws = Array.from({ length: 4 }, () => `0x${sample.nextU32().toString(16).padStart(8, '0')}`);
  sections.push({
    title: 'memory layout',
    text:
      `${t.nrSections} memory sections of ${t.pagesPerSection} pages, memmap allocated lazily per section\n` +
      `first values of the seeded "demo" stream: ${draws.join(' ')}\n`,
  });
  return sections;
}

/** Render sections as the CLI prints them. */
export function formatSections(sections: readonly DemoSection[]): string {
  return sections.map((s) => `== ${s.title} ==\n${s.text}`).join('\n');
}
