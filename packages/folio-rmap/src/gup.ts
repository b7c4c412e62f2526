/**
 * DOC: GUP pins (FOLL_PIN), the part the rmap reads: a pinned anon folio
 * must not be shared at fork (`folio_try_dup_anon_rmap` returns -EBUSY) or
 * unmapped for swap/migration (`folio_try_share_anon_rmap` -EBUSY). A large
 * folio counts pins in `_pincount` (plus one reference each); a small one
 * adds GUP_PIN_COUNTING_BIAS to its refcount per pin.
 */
import { NODE_STAT } from '@mm/machine';
import type { FolioRmap } from './env.js';
import { FolioError } from './errors.js';
import { folioPutRefs, folioRefAdd, folioTestLarge, GUP_PIN_COUNTING_BIAS } from './folio.js';
import { MMF_HAS_PINNED, type RmapMm } from './vma.js';

/**
 * Pin `folio` `refs` times for DMA on behalf of `mm` (which gets MMF_HAS_PINNED).
 * @kernel try_grab_folio (FOLL_PIN) (mm/gup.c)
 */
export function folioPin(rm: FolioRmap, folio: number, refs: number, mm: RmapMm | null = null): void {
  if (!(refs > 0)) throw new FolioError('EINVAL', folio, `gup: pin of ${refs} references`);
  if (folioTestLarge(rm, folio)) {
    folioRefAdd(rm, folio, refs);
    const s = rm.sec(folio);
    const j = (folio & rm.mask) + 1;
    s.memcgData[j] = (s.memcgData[j] as number) + refs;
  } else {
    folioRefAdd(rm, folio, refs * GUP_PIN_COUNTING_BIAS);
  }
  rm.mem.vmstat.modNodePageState(rm.machine.currentCpu, rm.mem.pageToNid(folio), NODE_STAT.NR_FOLL_PIN_ACQUIRED, refs);
  if (mm !== null) mm.mmFlags |= MMF_HAS_PINNED;
}

/**
 * Drop `refs` pins.
 * @kernel gup_put_folio (FOLL_PIN) / unpin_user_page (mm/gup.c)
 */
export function folioUnpin(rm: FolioRmap, folio: number, refs: number): void {
  let put = refs;
  if (folioTestLarge(rm, folio)) {
    const s = rm.sec(folio);
    const j = (folio & rm.mask) + 1;
    if ((s.memcgData[j] as number) < refs)
      throw new FolioError('EINVAL', folio, `gup: unpin of ${refs} of ${s.memcgData[j]} pins`);
    s.memcgData[j] = (s.memcgData[j] as number) - refs;
  } else {
    put = refs * GUP_PIN_COUNTING_BIAS;
  }
  rm.mem.vmstat.modNodePageState(rm.machine.currentCpu, rm.mem.pageToNid(folio), NODE_STAT.NR_FOLL_PIN_RELEASED, refs);
  folioPutRefs(rm, folio, put);
}
