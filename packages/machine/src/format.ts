/**
 * DOC: text views of the machine's topology, in the shape of `lscpu` and
 * `numactl --hardware`.
 */
import type { MachineCore } from './types.js';

function bytes(n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB'];
  let u = 0;
  let v = n;
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  return `${Number.isInteger(v) ? v : v.toFixed(1)} ${units[u]}`;
}

/** Compress a sorted CPU list into ranges: [0,1,2,3,8] → "0-3,8". */
export function cpuListString(cpus: readonly number[]): string {
  const parts: string[] = [];
  for (let i = 0; i < cpus.length; ) {
    let j = i;
    while (j + 1 < cpus.length && cpus[j + 1] === (cpus[j] as number) + 1) j++;
    parts.push(i === j ? `${cpus[i]}` : `${cpus[i]}-${cpus[j]}`);
    i = j + 1;
  }
  return parts.join(',');
}

/** `numactl --hardware`-style text: nodes, their CPUs and sizes, the distance table. */
export function formatTopology(machine: MachineCore): string {
  const t = machine.topology;
  const c = machine.config;
  const lines: string[] = [];
  lines.push(
    `machine: ${c.arch}, ${t.nrCpus} CPUs, ${t.nrNodes} node${t.nrNodes === 1 ? '' : 's'}, ` +
      `${bytes(t.totalPages * t.pageSize)}, ${bytes(t.pageSize)} pages, ` +
      `${bytes(t.pagesPerSection * t.pageSize)} sections, seed ${c.seed}${c.preemptRt ? ', PREEMPT_RT' : ''}`,
  );
  lines.push(`available: ${t.nrNodes} nodes (0-${t.nrNodes - 1})`);
  for (let nid = 0; nid < t.nrNodes; nid++) {
    const start = t.nodeStartPfn[nid] as number;
    const pages = t.nodeSpannedPages[nid] as number;
    lines.push(`node ${nid} cpus: ${cpuListString(t.nodeCpus(nid))}`);
    lines.push(
      `node ${nid} size: ${bytes(pages * t.pageSize)} (pfn 0x${start.toString(16)}-0x${(start + pages).toString(16)})`,
    );
  }
  lines.push('node distances:');
  const w = Math.max(4, String(t.nrNodes - 1).length + 1);
  lines.push(`node ${Array.from({ length: t.nrNodes }, (_, i) => String(i).padStart(w)).join('')}`);
  for (let a = 0; a < t.nrNodes; a++) {
    const row = Array.from({ length: t.nrNodes }, (_, b) => String(t.distance(a, b)).padStart(w)).join('');
    lines.push(`${`${a}:`.padStart(4)} ${row}`);
  }
  return `${lines.join('\n')}\n`;
}
