/*
 * Userspace shims for DAMON's core code (include/linux/damon.h copied into
 * .build/kinc, the functions of mm/damon/core.c and ops-common.c that the
 * driver calls extracted into .build/extracted.c by build.sh): the types,
 * list helpers and arithmetic macros those use, on a 64-bit build, with
 * jiffies, the coarse clock, the PSI total and the page counters as
 * variables the driver sets, and prandom_u32_state() reading a scripted
 * sequence the TypeScript side replays.
 */
#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef uint8_t u8;
typedef uint16_t u16;
typedef uint32_t u32;
typedef uint64_t u64;
typedef int64_t s64;
typedef u64 phys_addr_t;
typedef u64 resource_size_t;
typedef unsigned long __kernel_ulong_t;
typedef unsigned int gfp_t;

#define __init
#define __ro_after_init
#undef __always_inline
#define __always_inline inline
#define CONFIG_DAMON 1
#define likely(x) (x)
#define unlikely(x) (x)
#define EINVAL 22
#define ENOMEM 12
#define EBUSY 16
#define PAGE_SIZE 4096UL
#define PAGE_SHIFT 12
#define NUMA_NO_NODE (-1)
#define MAX_NUMNODES 64
#define U32_MAX UINT_MAX
#define GFP_KERNEL 0
#define BITS_PER_LONG 64

#define container_of(ptr, type, member) ((type *)((char *)(ptr) - offsetof(type, member)))
#define __ALIGN_MASK(x, mask) (((x) + (mask)) & ~(mask))
/* The kernel's ALIGN()/ALIGN_DOWN() are for powers of two; min_region_sz is one. */
#define ALIGN(x, a) __ALIGN_MASK(x, (typeof(x))(a) - 1)
#define ALIGN_DOWN(x, a) ALIGN((x) - ((a) - 1), (a))
#define min(a, b) ((a) < (b) ? (a) : (b))
#define max(a, b) ((a) > (b) ? (a) : (b))
#define min_t(t, a, b) ((t)(a) < (t)(b) ? (t)(a) : (t)(b))
#define max_t(t, a, b) ((t)(a) > (t)(b) ? (t)(a) : (t)(b))
/* abs() of the kernel: on unsigned int operands it yields the (wrapped) unsigned difference as int */
#define abs(x) __builtin_choose_expr(sizeof(x) == 8, (long)labs((long)(x)), (int)__builtin_abs((int)(x)))
#define mult_frac(x, n, d)                                                                                             \
	({                                                                                                             \
		typeof(x) x_ = (x);                                                                                    \
		typeof(n) n_ = (n);                                                                                    \
		typeof(d) d_ = (d);                                                                                    \
		typeof(x_) q = x_ / d_;                                                                                \
		typeof(x_) r = x_ % d_;                                                                                \
		q * n_ + r * n_ / d_;                                                                                  \
	})
static inline int ilog2(unsigned long v) { return 63 - __builtin_clzl(v); }
static inline u64 mul_u64_u64_shr(u64 a, u64 b, unsigned int shift)
{
	return (u64)(((unsigned __int128)a * b) >> shift);
}
static inline u64 div_u64(u64 a, u32 b) { return a / b; }

/* WARN_ONCE and friends: counted; valid scripts fire none. */
extern long kdiff_warnings;
#define WARN_ONCE(cond, ...) ((cond) ? (void)kdiff_warnings++ : (void)0)
#define WARN_ON_ONCE(cond) WARN_ONCE(cond, "")
#define pr_debug(...) do { } while (0)
#define pr_err(...) do { } while (0)
static inline const char *str_high_low(bool v) { return v ? "high" : "low"; }

/* lists */
struct list_head { struct list_head *next, *prev; };
#define LIST_HEAD(name) struct list_head name = { &(name), &(name) }
static inline void INIT_LIST_HEAD(struct list_head *l) { l->next = l; l->prev = l; }
static inline void __list_add(struct list_head *n, struct list_head *prev, struct list_head *next)
{
	next->prev = n;
	n->next = next;
	n->prev = prev;
	prev->next = n;
}
static inline void list_add_tail(struct list_head *n, struct list_head *h) { __list_add(n, h->prev, h); }
static inline void list_del(struct list_head *e)
{
	e->next->prev = e->prev;
	e->prev->next = e->next;
	e->next = e->prev = NULL;
}
static inline bool list_empty(const struct list_head *h) { return h->next == h; }
static inline bool list_is_last(const struct list_head *l, const struct list_head *h) { return l->next == h; }
#define list_entry(ptr, type, member) container_of(ptr, type, member)
#define list_first_entry(ptr, type, member) list_entry((ptr)->next, type, member)
#define list_last_entry(ptr, type, member) list_entry((ptr)->prev, type, member)
#define list_next_entry(pos, member) list_entry((pos)->member.next, typeof(*(pos)), member)
#define list_entry_is_head(pos, head, member) (&pos->member == (head))
#define list_for_each_entry(pos, head, member)                                                                         \
	for (pos = list_first_entry(head, typeof(*pos), member); !list_entry_is_head(pos, head, member);              \
	     pos = list_next_entry(pos, member))
#define list_for_each_entry_from(pos, head, member)                                                                    \
	for (; !list_entry_is_head(pos, head, member); pos = list_next_entry(pos, member))
#define list_for_each_entry_safe(pos, n, head, member)                                                                 \
	for (pos = list_first_entry(head, typeof(*pos), member), n = list_next_entry(pos, member);                    \
	     !list_entry_is_head(pos, head, member); pos = n, n = list_next_entry(n, member))

/* locking, completions, threads: single-threaded driver */
struct mutex { int unused; };
#define DEFINE_MUTEX(m) struct mutex m
static inline void mutex_lock(struct mutex *m) { (void)m; }
static inline void mutex_unlock(struct mutex *m) { (void)m; }
static inline void mutex_init(struct mutex *m) { (void)m; }
struct completion { int done; };
static inline void complete(struct completion *c) { c->done = 1; }
static inline void init_completion(struct completion *c) { c->done = 0; }
struct pid;
struct task_struct;
struct mem_cgroup;
struct folio;

/* the PRNG: a scripted sequence (see kdiff.c) */
struct rnd_state { u32 unused; };
u32 prandom_u32_state(struct rnd_state *state);
static inline void prandom_seed_state(struct rnd_state *s, u64 seed) { (void)s; (void)seed; }

/* memory: kmalloc/kmem_cache on malloc; leaks are checked by the driver */
extern long kdiff_allocs;
static inline void *kdiff_alloc(size_t n)
{
	kdiff_allocs++;
	return calloc(1, n);
}
static inline void kfree(const void *p)
{
	if (p) {
		kdiff_allocs--;
		free((void *)p);
	}
}
#define kmalloc_obj(x) kdiff_alloc(sizeof(x))
#define kzalloc_obj(x) kdiff_alloc(sizeof(x))
struct kmem_cache { int unused; };
static inline void *kmem_cache_alloc(struct kmem_cache *c, gfp_t g) { (void)c; (void)g; return kdiff_alloc(256); }
static inline void kmem_cache_free(struct kmem_cache *c, void *p) { (void)c; kfree(p); }

/* time: HZ = 1000, jiffies and the coarse clock are set by the driver */
extern unsigned long jiffies;
extern s64 kdiff_clock_ns;
#define time_after(a, b) ((long)((b) - (a)) < 0)
#define time_before(a, b) time_after(b, a)
#define time_after_eq(a, b) ((long)((a) - (b)) >= 0)
#define time_before_eq(a, b) time_after_eq(b, a)
#define time_in_range_open(a, b, c) (time_after_eq(a, b) && time_before(a, c))
static inline unsigned long msecs_to_jiffies(unsigned long m) { return m; }
struct timespec64 { s64 tv_sec; long tv_nsec; };
static inline void ktime_get_coarse_ts64(struct timespec64 *ts)
{
	ts->tv_sec = kdiff_clock_ns / 1000000000;
	ts->tv_nsec = kdiff_clock_ns % 1000000000;
}
static inline s64 timespec64_to_ns(const struct timespec64 *ts) { return ts->tv_sec * 1000000000LL + ts->tv_nsec; }
static inline void cond_resched(void) { }

/* what DAMOS reads from the system, set by the driver */
enum { NR_FREE_PAGES };
extern unsigned long kdiff_free_pages, kdiff_totalram_pages;
static inline unsigned long global_zone_page_state(int item) { (void)item; return kdiff_free_pages; }
static inline unsigned long totalram_pages(void) { return kdiff_totalram_pages; }

/* tracepoints: off */
#define trace_damon_aggregated(...) do { } while (0)
#define trace_damon_region_aggregated(...) do { } while (0)
#define trace_damon_region_aggregated_enabled() false
#define trace_damos_before_apply(...) do { } while (0)
#define trace_damos_before_apply_enabled() false
#define trace_damos_esz(...) do { } while (0)
#define trace_damos_esz_enabled() false
#define trace_damos_stat_after_apply_interval_enabled() false
#define trace_call__damos_stat_after_apply_interval(...) do { } while (0)
#define trace_damon_monitor_intervals_tune(...) do { } while (0)
