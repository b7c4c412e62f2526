/*
 * Userspace shims for the swap_map count functions of mm/swapfile.c
 * (__swap_duplicate, __swap_entry_free_locked, swap_count_continued,
 * add_swap_count_continuation, swp_swapcount), enough to compile them
 * unchanged: one swap device, one lock-free thread, pages as heap objects.
 * Written for this project; no kernel code here.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PAGE_SHIFT 12
#define PAGE_SIZE (1UL << PAGE_SHIFT)
#define PAGE_MASK (~(PAGE_SIZE - 1))
#define ENOMEM 12
#define ENOENT 2
#define EEXIST 17
#define EINVAL 22
typedef unsigned long pgoff_t;
typedef unsigned int gfp_t;
#define GFP_ATOMIC 1u
#define GFP_KERNEL 2u
#define __GFP_HIGHMEM 0u

#define SWAP_MAP_MAX 0x3e
#define SWAP_MAP_BAD 0x3f
#define SWAP_HAS_CACHE 0x40
#define SWAP_CONT_MAX 0x7f
#define COUNT_CONTINUED 0x80
#define SWAP_MAP_SHMEM 0xbf
#define SWP_CONTINUED (1 << 5)
#define SWAPFILE_CLUSTER 512

struct list_head { struct list_head *next, *prev; };
static inline void INIT_LIST_HEAD(struct list_head *l) { l->next = l; l->prev = l; }
static inline void list_add_tail(struct list_head *n, struct list_head *h) {
	n->prev = h->prev; n->next = h; h->prev->next = n; h->prev = n;
}
#define container_of(ptr, type, member) ((type *)((char *)(ptr) - offsetof(type, member)))
#define list_entry(ptr, type, member) container_of(ptr, type, member)
#define list_next_entry(pos, member) list_entry((pos)->member.next, __typeof__(*(pos)), member)
#define list_prev_entry(pos, member) list_entry((pos)->member.prev, __typeof__(*(pos)), member)
#define list_first_entry(ptr, type, member) list_entry((ptr)->next, type, member)
#define list_for_each_entry(pos, head, member) \
	for (pos = list_first_entry(head, __typeof__(*pos), member); &pos->member != (head); pos = list_next_entry(pos, member))

struct page { struct list_head lru; unsigned long private; unsigned char data[PAGE_SIZE]; };
#define page_private(p) ((p)->private)
#define set_page_private(p, v) ((p)->private = (v))
static inline void *kmap_local_page(struct page *p) { return p->data; }
#define kunmap_local(x) ((void)(x))
static int fail_alloc;
static inline struct page *alloc_page(gfp_t gfp) {
	(void)gfp;
	if (fail_alloc) return NULL;
	struct page *p = calloc(1, sizeof(*p));
	memset(p->data, 0xa5, PAGE_SIZE); /* not zeroed, as in the kernel */
	return p;
}
static inline void __free_page(struct page *p) { free(p); }

typedef struct { unsigned long val; } swp_entry_t;
static inline swp_entry_t swp_entry(unsigned long type, pgoff_t off) { swp_entry_t e = { (type << 58) | off }; return e; }
static inline pgoff_t swp_offset(swp_entry_t e) { return e.val & ((1UL << 58) - 1); }

typedef int spinlock_t;
#define spin_lock(l) ((void)(l))
#define spin_unlock(l) ((void)(l))
struct swap_cluster_info { int dummy; };
struct swap_info_struct {
	unsigned long flags;
	unsigned char *swap_map;
	unsigned long max;
	spinlock_t lock, cont_lock;
	struct page *map_pages; /* the "vmalloc" pages behind swap_map */
};
static struct swap_info_struct the_si;
static inline struct page *vmalloc_to_page(const void *addr) {
	return &the_si.map_pages[((const unsigned char *)addr - the_si.swap_map) >> PAGE_SHIFT];
}
static inline struct swap_info_struct *swp_swap_info(swp_entry_t e) { (void)e; return &the_si; }
static inline struct swap_info_struct *_swap_info_get(swp_entry_t e) { (void)e; return &the_si; }
static inline struct swap_info_struct *get_swap_device(swp_entry_t e) { (void)e; return &the_si; }
static inline void put_swap_device(struct swap_info_struct *si) { (void)si; }
static struct swap_cluster_info the_ci;
static inline struct swap_cluster_info *lock_cluster(struct swap_info_struct *si, unsigned long o) { (void)si; (void)o; return &the_ci; }
static inline void unlock_cluster(struct swap_cluster_info *ci) { (void)ci; }
static inline struct swap_cluster_info *lock_cluster_or_swap_info(struct swap_info_struct *si, unsigned long o) { return lock_cluster(si, o); }
static inline void unlock_cluster_or_swap_info(struct swap_info_struct *si, struct swap_cluster_info *ci) { (void)si; (void)ci; }
#define BUG_ON(c) do { if (c) { fprintf(stderr, "BUG at %d\n", __LINE__); abort(); } } while (0)
#define VM_BUG_ON(c) BUG_ON(c)
#define VM_WARN_ON(c) ((void)(c))
#define WARN_ON_ONCE(c) (c)
#define pr_err_ratelimited(...) ((void)0)
#define WRITE_ONCE(x, v) ((x) = (v))
#define READ_ONCE(x) (x)
#define data_race(x) (x)
#define unlikely(x) (x)
#define likely(x) (x)
static const char Bad_file[] = "Bad swap file entry ";

static inline unsigned char swap_count(unsigned char ent) { return ent & ~SWAP_HAS_CACHE; }
static bool swap_count_continued(struct swap_info_struct *, pgoff_t, unsigned char);
