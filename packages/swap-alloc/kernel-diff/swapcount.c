/*
 * kernel-diff driver for swap_map counts: runs seeded bursts of
 * duplications, frees and cache-bit changes on a few entries that share one
 * swap_map page through the kernel's own functions (extracted from
 * mm/swapfile.c by build.sh into .build/extracted.c), and prints the state
 * after each burst:
 *   <entry> <op> <n> -> <swap_map byte> <swp_swapcount> <digit1> <digit2> <digit3>
 * Ops: d = swap_duplicate n times, f = free n references, c = set the cache
 * bit (swapcache_prepare), u = clear it. Usage: swapcount <seed> <bursts>
 */
#include "shim.h"
#include "extracted.c"

static unsigned long long rng;
static unsigned int rnd(unsigned int n) {
	rng = rng * 6364136223846793005ULL + 1442695040888963407ULL;
	return (unsigned int)((rng >> 33) % n);
}

static int do_swap_duplicate(swp_entry_t e) {
	int err = 0;
	while (!err && __swap_duplicate(e, 1, 1) == -ENOMEM)
		err = add_swap_count_continuation(e, GFP_ATOMIC);
	return err;
}

static int digit(unsigned long off, int k) {
	struct page *head = vmalloc_to_page(the_si.swap_map + off);
	if (page_private(head) != SWP_CONTINUED) return -1;
	struct page *p = head;
	for (int i = 0; i <= k; i++) {
		p = list_next_entry(p, lru);
		if (p == head) return -1;
	}
	return p->data[off & ~PAGE_MASK];
}

int main(int argc, char **argv) {
	unsigned long seed = argc > 1 ? strtoul(argv[1], 0, 10) : 1;
	int bursts = argc > 2 ? atoi(argv[2]) : 100;
	rng = seed * 2654435761ULL + 1;
	the_si.max = 2 * PAGE_SIZE;
	the_si.swap_map = calloc(the_si.max, 1);
	the_si.map_pages = calloc(the_si.max / PAGE_SIZE, sizeof(struct page));
	const int K = 4;
	long count[4];
	for (int i = 0; i < K; i++) { the_si.swap_map[1 + i] = 1; count[i] = 1; }
	static const int sizes[] = { 1, 3, 62, 63, 64, 200, 1000, 4000, 9000 };
	for (int b = 0; b < bursts; b++) {
		int i = rnd(K);
		unsigned long off = 1 + i;
		swp_entry_t e = swp_entry(0, off);
		int n = sizes[rnd(9)];
		char op;
		int r = rnd(10);
		unsigned char cache = the_si.swap_map[off] & SWAP_HAS_CACHE;
		if (r < 5) op = 'd';
		else if (r < 9) { op = 'f'; if (n > count[i] - 1) n = count[i] - 1; }
		else { op = cache ? 'u' : 'c'; n = 1; }
		for (int k = 0; k < n; k++) {
			if (op == 'd') { if (do_swap_duplicate(e)) { fprintf(stderr, "ENOMEM\n"); return 1; } count[i]++; }
			else if (op == 'f') { __swap_entry_free_locked(&the_si, off, 1); count[i]--; }
			else if (op == 'c') { if (__swap_duplicate(e, SWAP_HAS_CACHE, 1)) return 1; }
			else __swap_entry_free_locked(&the_si, off, SWAP_HAS_CACHE);
		}
		printf("%lu %c %d -> %d %d %d %d %d\n", off, op, n, the_si.swap_map[off], swp_swapcount(e),
		       digit(off, 0), digit(off, 1), digit(off, 2));
	}
	return 0;
}
