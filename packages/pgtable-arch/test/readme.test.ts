// The README example, run as written.
import { expect, it } from 'vitest';
import { archDescriptor, EntryCodec, LEAF_KIND, PteVal, PteView } from '../src/index.js';

it('README: encode and decode an x86-64 PTE', () => {
  const ec = new EntryCodec(archDescriptor('x86_64'));
  const view = new PteView();
  view.kind = LEAF_KIND.PRESENT;
  view.pfn = 0x1234;
  view.write = true;
  view.dirty = true;
  view.young = true;
  const pte = ec.encodePte(new PteVal(), view);
  expect(pte.toHex()).toBe('0x8000000001234067');
  expect(ec.decodePte(pte, new PteView()).kind).toBe(LEAF_KIND.PRESENT);
});
