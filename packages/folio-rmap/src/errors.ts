/**
 * DOC: typed errors of the folio/rmap package.
 *
 * Misuse at the API boundary (a tail page or a free folio where a folio is
 * expected, an order the allocator cannot serve, a VMA without an anon_vma
 * where one is required) throws {@link FolioError}, an `MmError` whose `code`
 * is the kernel errno name and whose message starts with the subsystem
 * (`folio:`, `rmap:`, `anon_vma:`). State is unchanged when it is thrown.
 * Broken invariants found by the validator throw `MmBugError`.
 */
import { MmError } from '@mm/machine';

/** Bad input to a folio or rmap API. */
export class FolioError extends MmError {
  /** The folio (head PFN) concerned, -1 when none. */
  readonly folio: number;

  constructor(code: string, folio: number, message: string) {
    super(code, message);
    this.folio = folio;
  }
}
