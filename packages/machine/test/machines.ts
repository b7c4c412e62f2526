/**
 * DOC: machines shared by the page-allocator tests.
 */
import { createMachine, type Machine } from '../src/index.js';

const MiB = 1024 * 1024;

/** Node 0: 128 MiB DMA32 + 128 MiB ZONE_MOVABLE; node 1: 128 MiB DMA32; 4 CPUs. */
export function smallNumaMachine(): Machine {
  return createMachine({
    nodes: [
      { memoryBytes: 256 * MiB, cpus: 2 },
      { memoryBytes: 128 * MiB, cpus: 2 },
    ],
    distances: [
      [10, 20],
      [20, 10],
    ],
    mem: { movablecorePercent: 50 },
  });
}

/** Node 0: 4 GiB DMA32 + 256 MiB Normal (ALLOC_NOFRAGMENT territory); node 1: 256 MiB Normal; 4 CPUs. */
export function normalZoneMachine(): Machine {
  return createMachine({
    nodes: [
      { memoryBytes: 4 * 1024 * MiB + 256 * MiB, cpus: 2 },
      { memoryBytes: 256 * MiB, cpus: 2 },
    ],
    distances: [
      [10, 20],
      [20, 10],
    ],
  });
}
