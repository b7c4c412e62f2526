/**
 * DOC: the GFP bits SLUB looks at, from the machine's gfp_types.h model.
 */
export {
  __GFP_ACCOUNT,
  __GFP_COMP,
  __GFP_DIRECT_RECLAIM,
  __GFP_NOFAIL,
  __GFP_NOMEMALLOC,
  __GFP_NORETRY,
  __GFP_NOWARN,
  __GFP_RECLAIM,
  __GFP_THISNODE,
  __GFP_ZERO,
  GFP_ATOMIC,
  GFP_KERNEL,
  GFP_NOWAIT,
} from '@mm/machine';
