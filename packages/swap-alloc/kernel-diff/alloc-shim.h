/*
 * Userspace shims for the cluster allocator of mm/swapfile.c (Linux 7.2):
 * lists, a small plist, per-CPU data indexed by a "current CPU", locks as
 * no-ops (one thread), atomics as plain arithmetic, and a stand-in swap
 * table whose entries are NULL, BAD or "a folio with swap count 0" (the
 * states the allocator reads). Written for this project; no kernel code.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define EINVAL 22
#define SWAPFILE_CLUSTER 512
#define PMD_ORDER 9
#define SWAP_NR_ORDERS (PMD_ORDER + 1)
#define SWAP_ENTRY_INVALID 0
#define NR_CPUS 4
#define BITS_PER_TYPE(t) (sizeof(t) * 8)
#define IS_ENABLED(x) 0
#define BUILD_BUG_ON(x) do { } while (0)
#define VM_WARN_ON(x) ((void)(x))
#define VM_WARN_ON_ONCE(x) ((void)(x))
#define VM_BUG_ON(x) do { if (x) { fprintf(stderr, "VM_BUG_ON line %d\n", __LINE__); abort(); } } while (0)
#define WARN_ON_ONCE(x) (x)
#define WARN_ON(x) (x)
#define unlikely(x) (x)
#define likely(x) (x)
#define READ_ONCE(x) (x)
#define WRITE_ONCE(x, v) ((x) = (v))
#define min(a, b) ((a) < (b) ? (a) : (b))
#define ALIGN_DOWN(x, a) ((x) / (a) * (a))
#define abs(x) ((x) < 0 ? -(x) : (x))
#define cond_resched() ((void)0)
#define lockdep_assert_held(x) ((void)0)
#define schedule_work(x) ((void)0)
#define smp_rmb() ((void)0)
#define rcu_dereference_protected(p, c) (p)
#define rcu_dereference_check(p, c) (p)
#define lockdep_is_held(x) 1

typedef int spinlock_t;
#define spin_lock(l) ((void)(l))
#define spin_unlock(l) ((void)(l))
#define spin_trylock(l) 1
#define local_lock(l) ((void)0)
#define local_unlock(l) ((void)0)
typedef unsigned int gfp_t;
typedef unsigned char u8;
typedef unsigned short u16;

struct list_head { struct list_head *next, *prev; };
static inline void INIT_LIST_HEAD(struct list_head *l) { l->next = l; l->prev = l; }
static inline void __list_del(struct list_head *p, struct list_head *n) { n->prev = p; p->next = n; }
static inline void list_del(struct list_head *e) { __list_del(e->prev, e->next); e->next = e->prev = NULL; }
static inline void list_add_tail(struct list_head *n, struct list_head *h) { n->prev = h->prev; n->next = h; h->prev->next = n; h->prev = n; }
static inline void list_move_tail(struct list_head *e, struct list_head *h) { __list_del(e->prev, e->next); list_add_tail(e, h); }
static inline int list_empty(const struct list_head *h) { return h->next == h; }
#define container_of(ptr, type, member) ((type *)((char *)(ptr) - offsetof(type, member)))
#define list_entry(ptr, type, member) container_of(ptr, type, member)
#define list_first_entry(ptr, type, member) list_entry((ptr)->next, type, member)
#define list_next_entry(pos, member) list_entry((pos)->member.next, __typeof__(*(pos)), member)
#define list_for_each_entry(pos, head, member) \
	for (pos = list_first_entry(head, __typeof__(*pos), member); &pos->member != (head); pos = list_next_entry(pos, member))

/* plist: nodes sorted by ascending prio, FIFO among equals */
struct plist_node { int prio; struct list_head node_list; };
struct plist_head { struct list_head node_list; };
static inline void plist_add(struct plist_node *n, struct plist_head *h) {
	struct list_head *pos = h->node_list.next;
	while (pos != &h->node_list && list_entry(pos, struct plist_node, node_list)->prio <= n->prio) pos = pos->next;
	list_add_tail(&n->node_list, pos);
}
static inline void plist_del(struct plist_node *n, struct plist_head *h) { (void)h; list_del(&n->node_list); n->node_list.next = n->node_list.prev = &n->node_list; }
static inline int plist_node_empty(const struct plist_node *n) { return n->node_list.next == &n->node_list; }
static inline void plist_requeue(struct plist_node *n, struct plist_head *h) {
	struct list_head *pos = n->node_list.next;
	while (pos != &h->node_list && list_entry(pos, struct plist_node, node_list)->prio == n->prio) pos = pos->next;
	if (pos == n->node_list.next) return;
	list_del(&n->node_list);
	list_add_tail(&n->node_list, pos);
}
#define plist_for_each_entry_safe(pos, n, head, m) \
	for (pos = list_entry((head)->node_list.next, __typeof__(*pos), m.node_list), \
	     n = list_entry(pos->m.node_list.next, __typeof__(*pos), m.node_list); \
	     &pos->m.node_list != &(head)->node_list; \
	     pos = n, n = list_entry(n->m.node_list.next, __typeof__(*pos), m.node_list))

typedef struct { long counter; } atomic_long_t;
#define atomic_long_read(a) ((a)->counter)
#define atomic_long_add(n, a) ((a)->counter += (n))
#define atomic_long_sub(n, a) ((a)->counter -= (n))
#define atomic_long_or(n, a) ((a)->counter |= (n))
#define atomic_long_add_return_relaxed(n, a) ((a)->counter += (n))
#define atomic_long_sub_return_relaxed(n, a) ((a)->counter -= (n))
static inline long atomic_long_fetch_and_relaxed(long m, atomic_long_t *a) { long o = a->counter; a->counter &= m; return o; }
static inline bool atomic_long_try_cmpxchg(atomic_long_t *a, unsigned long *old, unsigned long nw) {
	if ((unsigned long)a->counter == *old) { a->counter = (long)nw; return true; }
	*old = (unsigned long)a->counter;
	return false;
}

/* the swap table states the allocator reads */
#define TB_FOLIO 2UL
#define SWP_TB_BAD ((~0UL) << 3)
static inline bool swp_tb_is_null(unsigned long tb) { return tb == 0; }
static inline bool swp_tb_is_folio(unsigned long tb) { return tb == TB_FOLIO; }
static inline bool swp_tb_is_bad(unsigned long tb) { return tb == SWP_TB_BAD; }
static inline unsigned char __swp_tb_get_count(unsigned long tb) { (void)tb; return 0; }
static inline int swp_tb_get_count(unsigned long tb) { return (tb == 0 || tb == TB_FOLIO) ? 0 : -EINVAL; }

enum swap_cluster_flags { CLUSTER_FLAG_NONE = 0, CLUSTER_FLAG_FREE, CLUSTER_FLAG_NONFULL, CLUSTER_FLAG_FRAG,
	CLUSTER_FLAG_USABLE = CLUSTER_FLAG_FRAG, CLUSTER_FLAG_FULL, CLUSTER_FLAG_DISCARD, CLUSTER_FLAG_MAX };
struct swap_cluster_info { spinlock_t lock; u16 count; u8 flags; u8 order; unsigned long *table; struct list_head list; };
static inline unsigned long __swap_table_get(struct swap_cluster_info *ci, unsigned int off) { return ci->table[off]; }
/* hibernation's branch (dead here: IS_ENABLED is 0) still has to compile */
static inline void __swap_table_set(struct swap_cluster_info *ci, unsigned int off, unsigned long v) { ci->table[off] = v; }
static inline unsigned long shadow_to_swp_tb(void *s, int f) { (void)s; (void)f; return 1; }
static inline unsigned long __swp_tb_mk_count(unsigned long tb, int c) { (void)c; return tb; }
static inline unsigned long swap_table_get(struct swap_cluster_info *ci, unsigned int off) { return ci->table ? ci->table[off] : 0; }

enum { SWP_USED = 1 << 0, SWP_WRITEOK = 1 << 1, SWP_SOLIDSTATE = 1 << 4, SWP_BLKDEV = 1 << 6, SWP_PAGE_DISCARD = 1 << 10 };
struct swap_sequential_cluster { unsigned int next[SWAP_NR_ORDERS]; };
struct swap_info_struct {
	unsigned long flags; int prio; struct plist_node avail_list; int type;
	unsigned int max, pages; atomic_long_t inuse_pages;
	struct swap_cluster_info *cluster_info;
	struct list_head free_clusters, full_clusters, nonfull_clusters[SWAP_NR_ORDERS], frag_clusters[SWAP_NR_ORDERS], discard_clusters;
	spinlock_t lock, global_cluster_lock; struct swap_sequential_cluster *global_cluster;
	int discard_work, reclaim_work; int users;
};
struct folio { int order; int swapcache; unsigned long swap_type, swap_off; };
static inline unsigned int folio_order(struct folio *f) { return f->order; }
static inline int folio_test_swapcache(struct folio *f) { return f->swapcache; }
static inline int folio_test_large(struct folio *f) { return f->order > 0; }
typedef struct { unsigned long type, off; } swp_entry_t;
static inline swp_entry_t swp_entry(unsigned long type, unsigned long off) { swp_entry_t e = { type, off }; return e; }

struct percpu_swap_cluster { struct swap_info_struct *si[SWAP_NR_ORDERS]; unsigned long offset[SWAP_NR_ORDERS]; int lock; };
static struct percpu_swap_cluster pcpu[NR_CPUS];
static int cur_cpu;
#define percpu_swap_cluster pcpu[cur_cpu]
#define this_cpu_read(x) (x)
#define this_cpu_write(x, v) ((x) = (v))
#define this_cpu_ptr(p) (p)

static atomic_long_t nr_swap_pages;
static long total_swap_pages;
static struct plist_head swap_avail_head;
static spinlock_t swap_avail_lock;
static inline bool vm_swap_full(void) { return atomic_long_read(&nr_swap_pages) * 2 < total_swap_pages; }
static inline bool percpu_ref_tryget_live(int *x) { (void)x; return true; }
static int si_users;
#define put_swap_device(si) ((void)(si))

static inline struct swap_cluster_info *swap_cluster_lock(struct swap_info_struct *si, unsigned long off) {
	return &si->cluster_info[off / SWAPFILE_CLUSTER];
}
static inline void swap_cluster_unlock(struct swap_cluster_info *ci) { (void)ci; }
/* table memory: allocated when a free cluster is isolated, freed when it is free again */
static inline void swap_cluster_free_table(struct swap_cluster_info *ci) { free(ci->table); ci->table = NULL; }
static inline void swap_cluster_assert_empty(struct swap_cluster_info *ci, unsigned int a, unsigned int b, bool c) { (void)ci; (void)a; (void)b; (void)c; }
static struct swap_cluster_info *swap_cluster_populate(struct swap_info_struct *si, struct swap_cluster_info *ci) {
	(void)si; ci->table = calloc(SWAPFILE_CLUSTER, sizeof(unsigned long)); return ci;
}
/* the folios stay locked by their owner: trylock fails, nothing is reclaimed */
static inline int __try_to_reclaim_swap(struct swap_info_struct *si, unsigned long off, unsigned long flags) {
	(void)si; (void)off; (void)flags; return -1;
}
static inline void __swap_cache_add_folio(struct swap_cluster_info *ci, struct folio *folio, swp_entry_t e) {
	unsigned int off = e.off % SWAPFILE_CLUSTER;
	for (int i = 0; i < (1 << folio->order); i++) ci->table[off + i] = TB_FOLIO;
	folio->swapcache = 1; folio->swap_type = e.type; folio->swap_off = e.off;
}
#define TTRS_ANYWAY 0x1
static void swap_cluster_schedule_discard(struct swap_info_struct *si, struct swap_cluster_info *ci);
static void move_cluster(struct swap_info_struct *si, struct swap_cluster_info *ci, struct list_head *list, enum swap_cluster_flags new_flags);
static void swap_range_alloc(struct swap_info_struct *si, unsigned int nr_entries);
#define SWAP_USAGE_OFFLIST_BIT (1UL << (BITS_PER_TYPE(int) - 2))
#define SWAP_USAGE_COUNTER_MASK (~SWAP_USAGE_OFFLIST_BIT)
