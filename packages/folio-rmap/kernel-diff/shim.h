/*
 * Userspace shims for the kernel's MM owner tracking code (extracted at
 * build time from include/linux/rmap.h, include/linux/mm_types.h,
 * include/linux/mm.h and fs/proc/internal.h into .build/extracted.h):
 * just the types, bit operations and folio accessors those functions use,
 * on a 64-bit build (CONFIG_64BIT, CONFIG_MM_ID).
 */
#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#define BITS_PER_BYTE 8
#define BIT(nr) (1UL << (nr))
#define IS_ENABLED(x) IS_ENABLED_##x
#define IS_ENABLED_CONFIG_64BIT 1
#define IS_ENABLED_CONFIG_MM_ID 1
#define likely(x) (x)
#define unlikely(x) (x)
#undef __always_inline
#define __always_inline inline
#define max_t(t, a, b) ((t)(a) > (t)(b) ? (t)(a) : (t)(b))

typedef struct { int counter; } atomic_t;
static inline int atomic_read(const atomic_t *a) { return a->counter; }
static inline void atomic_set(atomic_t *a, int v) { a->counter = v; }

typedef int mm_id_mapcount_t;
#define MM_ID_MAPCOUNT_MAX INT_MAX
typedef unsigned int mm_id_t;

/* VM_WARN_ON_ONCE and friends: count what fires; valid scripts fire none. */
extern long kdiff_warnings;
#define VM_WARN_ON_ONCE(cond) ((cond) ? (kdiff_warnings++, 1) : 0)
#define VM_WARN_ON_FOLIO(cond, folio) VM_WARN_ON_ONCE(cond)
#define BUILD_BUG() abort()

static inline bool test_bit(long nr, const unsigned long *addr) { return (*addr >> nr) & 1; }
static inline void bit_spin_lock(int bitnum, unsigned long *addr)
{
	if (test_bit(bitnum, addr))
		abort(); /* would spin forever: single-threaded driver */
	*addr |= BIT(bitnum);
}
static inline void __bit_spin_unlock(int bitnum, unsigned long *addr)
{
	if (!test_bit(bitnum, addr))
		abort();
	*addr &= ~BIT(bitnum);
}

struct mm_struct { mm_id_t mm_id; };
struct vm_area_struct { struct mm_struct *vm_mm; };

struct folio {
	int order; /* 0: small */
	bool hugetlb;
	atomic_t _mapcount;
	atomic_t _large_mapcount;
	atomic_t _entire_mapcount;
	mm_id_mapcount_t _mm_id_mapcount[2];
	union {
		mm_id_t _mm_id[2];
		unsigned long _mm_ids;
	};
};

static inline bool folio_test_large(const struct folio *f) { return f->order > 0; }
static inline bool folio_test_hugetlb(const struct folio *f) { return f->hugetlb; }
static inline long folio_large_nr_pages(const struct folio *f) { return 1L << f->order; }
static inline unsigned int folio_large_order(const struct folio *f) { return f->order; }
static inline int folio_large_mapcount(const struct folio *f) { return atomic_read(&f->_large_mapcount) + 1; }
static inline int folio_entire_mapcount(const struct folio *f) { return atomic_read(&f->_entire_mapcount) + 1; }
static inline int folio_mapcount(const struct folio *f)
{
	return folio_test_large(f) ? folio_large_mapcount(f) : atomic_read(&f->_mapcount) + 1;
}
static inline bool folio_mapped(const struct folio *f) { return folio_mapcount(f) >= 1; }
