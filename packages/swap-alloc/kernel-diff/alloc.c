/*
 * kernel-diff driver for the cluster allocator: the kernel's own
 * cluster_alloc_swap_entry, alloc_swap_scan_cluster, isolate_lock_cluster,
 * relocate_cluster, free_cluster, partial_free_cluster, swap_alloc_fast,
 * swap_alloc_slow, the available-list and usage helpers (cut out of
 * mm/swapfile.c by build.sh into .build/alloc-extracted.c), driven by a
 * seeded script of allocations (order 0/2/4/9 on four CPUs) and frees over
 * three devices: two SSDs of equal priority (sizes in whole clusters: see below)
 * and a lower-priority HDD. Frees mirror swap_entries_free()'s cluster
 * handling. Devices are whole clusters: 7.2 marks the slots past the end of a
 * short last cluster as bad table entries and lets the per-CPU hint run into
 * them (the cluster then moves to the frag list one allocation earlier),
 * while 6.18 stops the scan at si->max; that era difference is left out.
 * Prints one line per operation:
 *   A <cpu> <order> -> <type> <offset>     (or -> -1)
 *   F <type> <offset> <order>
 * Usage: alloc <seed> <ops>
 */
#include "alloc-shim.h"
#include "alloc-extracted.c"

static unsigned long long rng;
static unsigned int rnd(unsigned int n) {
	rng = rng * 6364136223846793005ULL + 1442695040888963407ULL;
	return (unsigned int)((rng >> 33) % n);
}

static struct swap_info_struct devs[3];

static void setup(struct swap_info_struct *si, int type, unsigned int max, int prio, bool hdd) {
	unsigned int nc = (max + SWAPFILE_CLUSTER - 1) / SWAPFILE_CLUSTER;
	si->type = type;
	si->max = max;
	si->pages = max - 1;
	si->prio = prio;
	si->flags = SWP_USED | SWP_BLKDEV | (hdd ? 0 : SWP_SOLIDSTATE);
	si->cluster_info = calloc(nc, sizeof(*si->cluster_info));
	INIT_LIST_HEAD(&si->free_clusters);
	INIT_LIST_HEAD(&si->full_clusters);
	INIT_LIST_HEAD(&si->discard_clusters);
	for (int o = 0; o < SWAP_NR_ORDERS; o++) { INIT_LIST_HEAD(&si->nonfull_clusters[o]); INIT_LIST_HEAD(&si->frag_clusters[o]); }
	if (hdd) {
		si->global_cluster = calloc(1, sizeof(*si->global_cluster));
	}
	/* header slot 0 and the slots past max are unusable (BAD in the table) */
	for (unsigned int off = 0; off < nc * SWAPFILE_CLUSTER; off++) {
		if (off != 0 && off < max) continue;
		struct swap_cluster_info *ci = &si->cluster_info[off / SWAPFILE_CLUSTER];
		if (!ci->table) ci->table = calloc(SWAPFILE_CLUSTER, sizeof(unsigned long));
		ci->table[off % SWAPFILE_CLUSTER] = SWP_TB_BAD;
		ci->count++;
	}
	for (unsigned int c = 0; c < nc; c++) {
		struct swap_cluster_info *ci = &si->cluster_info[c];
		if (ci->count) { ci->flags = CLUSTER_FLAG_NONFULL; list_add_tail(&ci->list, &si->nonfull_clusters[0]); }
		else { ci->flags = CLUSTER_FLAG_FREE; list_add_tail(&ci->list, &si->free_clusters); }
	}
	atomic_long_add(si->pages, &nr_swap_pages);
	total_swap_pages += si->pages;
	si->avail_list.prio = -prio;
	si->avail_list.node_list.next = si->avail_list.node_list.prev = &si->avail_list.node_list;
	si->inuse_pages.counter = SWAP_USAGE_OFFLIST_BIT;
	add_to_avail_list(si, true);
}

/* swap_entries_free(): the cluster side of dropping the last reference */
static void free_entries(struct swap_info_struct *si, unsigned long off, int nr) {
	struct swap_cluster_info *ci = swap_cluster_lock(si, off);
	for (int i = 0; i < nr; i++) ci->table[(off + i) % SWAPFILE_CLUSTER] = 0;
	ci->count -= nr;
	atomic_long_add(nr, &nr_swap_pages);
	swap_usage_sub(si, nr);
	if (!ci->count) free_cluster(si, ci);
	else partial_free_cluster(si, ci);
	swap_cluster_unlock(ci);
}

int main(int argc, char **argv) {
	unsigned long seed = argc > 1 ? strtoul(argv[1], 0, 10) : 1;
	int ops = argc > 2 ? atoi(argv[2]) : 1000;
	rng = seed * 2654435761ULL + 7;
	INIT_LIST_HEAD(&swap_avail_head.node_list);
	setup(&devs[0], 0, 8 * SWAPFILE_CLUSTER, 5, false);
	setup(&devs[1], 1, 6 * SWAPFILE_CLUSTER, 5, false);
	setup(&devs[2], 2, 4 * SWAPFILE_CLUSTER, 1, true);
	struct folio **live = calloc(100000, sizeof(*live));
	int nlive = 0;
	static const int orders[] = { 0, 0, 0, 0, 0, 0, 2, 4, 4, 9 };
	int dbg = getenv("KD_DEBUG") ? atoi(getenv("KD_DEBUG")) : -1;
	for (int k = 0; k < ops; k++) {
		if (k + 1 == dbg) {
			for (int d = 0; d < 2; d++) {
				struct swap_info_struct *si = &devs[d];
				unsigned int nc = (si->max + SWAPFILE_CLUSTER - 1) / SWAPFILE_CLUSTER;
				fprintf(stderr, "dev %d inuse %ld:", d, si->inuse_pages.counter);
				for (unsigned int c = 0; c < nc; c++) {
					struct swap_cluster_info *ci = &si->cluster_info[c];
					int used = 0;
					if (ci->table) for (int i = 0; i < SWAPFILE_CLUSTER; i++) used += ci->table[i] != 0;
					fprintf(stderr, " c%u[f%d n%d o%d t%d]", c, ci->flags, ci->count, ci->order, used);
				}
				fprintf(stderr, "\n");
			}
			for (int c = 0; c < NR_CPUS; c++) fprintf(stderr, "cpu%d o0 %d:%lu\n", c, pcpu[c].si[0] ? pcpu[c].si[0]->type : -1, pcpu[c].offset[0]);
		}
		/* bias: allocate more while the devices are emptier */
		bool do_alloc = nlive == 0 || rnd(100) < 55;
		if (do_alloc) {
			struct folio *f = calloc(1, sizeof(*f));
			cur_cpu = rnd(NR_CPUS);
			f->order = orders[rnd(10)];
			if (!swap_alloc_fast(f)) swap_alloc_slow(f);
			if (f->swapcache) {
				printf("A %d %d -> %lu %lu\n", cur_cpu, f->order, f->swap_type, f->swap_off);
				live[nlive++] = f;
			} else {
				printf("A %d %d -> -1\n", cur_cpu, f->order);
				free(f);
			}
		} else {
			int i = rnd(nlive);
			struct folio *f = live[i];
			live[i] = live[--nlive];
			printf("F %lu %lu %d\n", f->swap_type, f->swap_off, f->order);
			free_entries(&devs[f->swap_type], f->swap_off, 1 << f->order);
			free(f);
		}
	}
	return 0;
}
