import { Prng } from '@mm/machine';
import { SyntheticAddressSpace } from '../src/synthetic/address-space.js';

const space = new SyntheticAddressSpace({});
space.map(0x7f0000000000, 0x7f0000000000 + 99999744, 'a');
space.map(0x1000, 0x2000, 'x');
space.map(0x7fff00000000, 0x7fff00001000, 's');
const p = new Prng(1);
const N = 1e6;
let t0 = performance.now();
let s = 0;
for (let i = 0; i < N; i++) s += p.below(99999744);
console.log('below ns', (((performance.now() - t0) * 1e6) / N).toFixed(1));
t0 = performance.now();
for (let i = 0; i < N; i++) {
  const a = 0x7f0000000000 + ((i * 4096) % 99999744);
  space.mkold(a);
}
console.log('mkold ns', (((performance.now() - t0) * 1e6) / N).toFixed(1));
t0 = performance.now();
for (let i = 0; i < N; i++) {
  const a = 0x7f0000000000 + ((i * 4096) % 99999744);
  s += space.young(a);
}
console.log('young ns', (((performance.now() - t0) * 1e6) / N).toFixed(1));
t0 = performance.now();
for (let i = 0; i < N; i++) {
  s += space.vmaIndexOf(0x7f0000000000 + i);
}
console.log('vmaIndexOf ns', (((performance.now() - t0) * 1e6) / N).toFixed(1), s > 0);
