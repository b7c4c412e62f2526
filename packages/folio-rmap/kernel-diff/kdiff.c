/*
 * Differential driver for MM owner tracking: runs seeded random scripts of
 * folio_set_large_mapcount / folio_add_return_large_mapcount /
 * folio_sub_return_large_mapcount by up to five mms over large folios
 * through the kernel's own code, printing after every step what the model
 * must reproduce (JSON lines, one script per line), then a grid of
 * folio_average_page_mapcount answers. Valid scripts only: an mm never
 * unmaps more than it mapped, every diff is at most the folio size.
 *
 *   kdiff <seed> <scripts> <steps>
 */
#include "shim.h"
#include "extracted.h"

long kdiff_warnings;
static uint64_t rng;
static uint64_t next(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}
static unsigned int below(unsigned int n) { return (unsigned int)(next() % n); }

int main(int argc, char **argv)
{
	if (argc != 4) {
		fprintf(stderr, "usage: kdiff <seed> <scripts> <steps>\n");
		return 2;
	}
	rng = strtoull(argv[1], NULL, 0) * 2654435761u + 1;
	int scripts = atoi(argv[2]), steps = atoi(argv[3]);
	static const int orders[] = { 1, 2, 3, 4, 9 };
	/* Small ids and ids at the top of the 31-bit range (masking). */
	static const mm_id_t idpool[] = { 1, 2, 3, 4, 5, 6, 7, 0x7ffffffe, 0x7fffffff, 0x40000000 };
	for (int s = 0; s < scripts; s++) {
		struct folio f = { .order = orders[below(5)] };
		long nr = folio_large_nr_pages(&f);
		int nmm = 2 + below(4);
		struct mm_struct mms[5];
		struct vm_area_struct vmas[5];
		long mapped[5] = { 0 };
		for (int m = 0; m < nmm; m++) {
			mm_id_t id;
			int dup;
			do {
				id = idpool[below(10)];
				dup = 0;
				for (int k = 0; k < m; k++)
					dup |= mms[k].mm_id == id;
			} while (dup);
			mms[m].mm_id = id;
			vmas[m].vm_mm = &mms[m];
		}
		/* prep_compound_head */
		atomic_set(&f._large_mapcount, -1);
		atomic_set(&f._entire_mapcount, -1);
		f._mm_ids = 0;
		f._mm_id_mapcount[0] = -1;
		f._mm_id_mapcount[1] = -1;
		printf("{\"order\":%d,\"mms\":[", f.order);
		for (int m = 0; m < nmm; m++)
			printf("%s%u", m ? "," : "", mms[m].mm_id);
		printf("],\"ops\":[");
		long total = 0;
		for (int t = 0; t < steps; t++) {
			int m = below(nmm), kind, ret = 0;
			long diff;
			if (t == 0 && below(2)) {
				kind = 0; /* a new folio mapped by one mm */
				diff = 1 + below(nr);
				folio_set_large_mapcount(&f, diff, &vmas[m]);
				ret = diff;
				mapped[m] += diff;
			} else if (mapped[m] > 0 && (below(2) || total + 1 > 4 * nr)) {
				kind = 2;
				diff = 1 + below(mapped[m] < nr ? mapped[m] : nr);
				ret = folio_sub_return_large_mapcount(&f, diff, &vmas[m]);
				mapped[m] -= diff;
			} else {
				kind = 1;
				diff = 1 + below(nr);
				ret = folio_add_return_large_mapcount(&f, diff, &vmas[m]);
				mapped[m] += diff;
			}
			total = 0;
			for (int k = 0; k < nmm; k++)
				total += mapped[k];
			printf("%s[%d,%d,%ld,%d,%u,%u,%d,%d,%d,%d]", t ? "," : "", kind, m, diff, ret,
			       folio_mm_id(&f, 0), folio_mm_id(&f, 1), f._mm_id_mapcount[0], f._mm_id_mapcount[1],
			       test_bit(FOLIO_MM_IDS_SHARED_BITNUM, &f._mm_ids), folio_maybe_mapped_shared(&f));
		}
		printf("],\"warnings\":%ld}\n", kdiff_warnings);
		kdiff_warnings = 0;
	}
	/* folio_average_page_mapcount over (order, large mapcount, entire). */
	printf("{\"average\":[");
	int first = 1;
	for (int order = 1; order <= 9; order++) {
		long nr = 1L << order;
		for (long m = 0; m <= 3 * nr + 2; m += (nr > 16 ? 7 : 1)) {
			for (int e = 0; e <= 3; e++) {
				if (e > m)
					continue;
				struct folio f = { .order = order };
				atomic_set(&f._large_mapcount, (int)m - 1);
				atomic_set(&f._entire_mapcount, e - 1);
				printf("%s[%d,%ld,%d,%d]", first ? "" : ",", order, m, e, folio_average_page_mapcount(&f));
				first = 0;
			}
		}
	}
	printf("]}\n");
	return 0;
}
