/*
 * kdiff.c: ask the kernel's own page-table entry encoders for thousands of
 * answers and print them as fixtures for test/kernel-diff.test.ts.
 *
 * Built by build.sh once per configuration (-DKDIFF_X86_64, or -DKDIFF_ARM64
 * with -DKDIFF_PAGE_SHIFT=12/14/16), against definitions extract.mjs pulled
 * out of the kernel's headers (.build/<arch>-extracted.h and
 * .build/swapops-extracted.h). This file holds only the userspace stand-ins
 * for what those definitions need (types, a few constants and CPU-feature
 * answers), the random inputs, and the printing.
 *
 * Output: one answer per line, `name arg... => result...`, every number in
 * hexadecimal. The inputs come from a seeded xorshift64* generator, so the
 * fixtures are reproducible: ./kdiff <seed> <cases-per-function>.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

typedef uint64_t u64;
typedef uint32_t u32;
typedef uint16_t u16;
typedef uint8_t u8;
typedef uint64_t phys_addr_t;
typedef unsigned long pgoff_t;

#define BITS_PER_LONG 64
#define BITS_PER_XA_VALUE (BITS_PER_LONG - 1)
#define _AC(X, Y) (X##Y)
#define _AT(T, X) ((T)(X))
#define UL(x) (_AC(x, UL))
#define ULL(x) (_AC(x, ULL))
#define BIT(nr) (1UL << (nr))
#define BIT_ULL(nr) (1ULL << (nr))
#define GENMASK(h, l) (((~0UL) - (1UL << (l)) + 1) & (~0UL >> (BITS_PER_LONG - 1 - (h))))
#define GENMASK_ULL(h, l) GENMASK(h, l)
#undef __always_inline
#define __always_inline inline
#define __pure
#define likely(x) (x)
#define unlikely(x) (x)
#define WARN_ON_ONCE(c) ((void)(c))
#define WARN_ONCE(c, ...) ((void)(c))
#define VM_WARN_ON_ONCE(c) ((void)(c))
#define VM_WARN_ON(c) ((void)(c))
#define VM_BUG_ON(c) ((void)(c))
#define BUG_ON(c) ((void)(c))
#define BUILD_BUG_ON(c) ((void)sizeof(char[1 - 2 * !!(c)]))
#define BUILD_BUG() ((void)0)
#define min_t(t, a, b) ((t)(a) < (t)(b) ? (t)(a) : (t)(b))
#define READ_ONCE(x) (x)

#define VM_NONE 0x0UL
#define VM_READ 0x1UL
#define VM_WRITE 0x2UL
#define VM_EXEC 0x4UL
#define VM_SHARED 0x8UL

typedef struct { unsigned long val; } swp_entry_t;
typedef swp_entry_t softleaf_t;
struct page;
struct folio;
struct vm_area_struct;
struct mm_struct;

/* The CPU has NX and no shadow stacks; swapfiles are big enough for the migration A/D bits. */
static bool swap_migration_ad_supported = true;

#if defined(KDIFF_X86_64)
#define KDIFF_NAME "x86_64"
#define PAGE_SHIFT 12
#define PAGE_SIZE (_AC(1, UL) << PAGE_SHIFT)
#define PAGE_MASK (~(PAGE_SIZE - 1))
#define PMD_SHIFT 21
#define PUD_SHIFT 30
#define PMD_SIZE (_AC(1, UL) << PMD_SHIFT)
#define PMD_MASK (~(PMD_SIZE - 1))
#define PUD_SIZE (_AC(1, UL) << PUD_SHIFT)
#define PUD_MASK (~(PUD_SIZE - 1))
#define MAX_PHYSMEM_BITS 46
#define __PHYSICAL_MASK_SHIFT 52
#define __PHYSICAL_MASK ((phys_addr_t)((1ULL << __PHYSICAL_MASK_SHIFT) - 1))
#define PHYSICAL_PAGE_MASK (((signed long)PAGE_MASK) & __PHYSICAL_MASK)
#define PHYSICAL_PMD_PAGE_MASK (((signed long)PMD_MASK) & __PHYSICAL_MASK)
#define PHYSICAL_PUD_PAGE_MASK (((signed long)PUD_MASK) & __PHYSICAL_MASK)
typedef unsigned long pteval_t;
typedef unsigned long pmdval_t;
typedef unsigned long pudval_t;
typedef unsigned long p4dval_t;
typedef unsigned long pgdval_t;
typedef unsigned long pgprotval_t;
typedef struct { pteval_t pte; } pte_t;
typedef struct { pmdval_t pmd; } pmd_t;
typedef struct { pudval_t pud; } pud_t;
typedef struct { p4dval_t p4d; } p4d_t;
typedef struct { pgdval_t pgd; } pgd_t;
typedef struct pgprot { pgprotval_t pgprot; } pgprot_t;
static pteval_t __supported_pte_mask = ~0UL;
#define cc_get_mask() 0UL
#define sme_me_mask 0UL
#define cpu_feature_enabled(f) 0
#define X86_FEATURE_SHSTK 0
#define __pte(x) native_make_pte(x)
#define __pmd(x) native_make_pmd(x)
#define __pud(x) native_make_pud(x)
#include ".build/x86_64-extracted.h"
/* pte_mkwrite(pte, vma) for a VMA without VM_SHADOW_STACK (arch/x86/mm/pgtable.c). */
static pte_t pte_mkwrite(pte_t pte) { return pte_clear_saveddirty(pte_mkwrite_novma(pte)); }
static pgprot_t vm_prot(unsigned i) { return __pgprot(pgprot_val(protection_map[i & 15]) & __supported_pte_mask); }
#define PFN_BITS 40
#elif defined(KDIFF_ARM64)
#ifndef KDIFF_PAGE_SHIFT
#define KDIFF_PAGE_SHIFT 12
#endif
#define PAGE_SHIFT KDIFF_PAGE_SHIFT
#if PAGE_SHIFT == 12
#define KDIFF_NAME "arm64-4k"
#define CONFIG_ARM64_CONT_PTE_SHIFT 4
#define CONFIG_ARM64_CONT_PMD_SHIFT 4
#define CONFIG_PGTABLE_LEVELS 4
#define VA_BITS 48
#elif PAGE_SHIFT == 14
#define KDIFF_NAME "arm64-16k"
#define CONFIG_ARM64_CONT_PTE_SHIFT 7
#define CONFIG_ARM64_CONT_PMD_SHIFT 5
#define CONFIG_PGTABLE_LEVELS 3
#define VA_BITS 47
#else
#define KDIFF_NAME "arm64-64k"
#define CONFIG_ARM64_CONT_PTE_SHIFT 5
#define CONFIG_ARM64_CONT_PMD_SHIFT 5
#define CONFIG_PGTABLE_LEVELS 3
#define VA_BITS 48
#endif
#define PAGE_SIZE (_AC(1, UL) << PAGE_SHIFT)
#define PAGE_MASK (~(PAGE_SIZE - 1))
#define MAX_PHYSMEM_BITS 48
typedef u64 pteval_t;
typedef u64 pmdval_t;
typedef u64 pudval_t;
typedef u64 p4dval_t;
typedef u64 pgdval_t;
typedef struct { pteval_t pte; } pte_t;
typedef struct { pmdval_t pmd; } pmd_t;
typedef struct { pudval_t pud; } pud_t;
typedef struct { pgdval_t pgd; } pgd_t;
typedef struct { pteval_t pgprot; } pgprot_t;
#define pte_val(x) ((x).pte)
#define pmd_val(x) ((x).pmd)
#define pud_val(x) ((x).pud)
#define pgd_val(x) ((x).pgd)
#define pgprot_val(x) ((x).pgprot)
#define __pte(x) ((pte_t){ (x) })
#define __pmd(x) ((pmd_t){ (x) })
#define __pud(x) ((pud_t){ (x) })
#define __pgd(x) ((pgd_t){ (x) })
#define __pgprot(x) ((pgprot_t){ (x) })
/* PUD_SHIFT: hardware level 1, which is also PGDIR_SHIFT when the PUD is folded (3 levels). */
#define PUD_SHIFT (PTDESC_TABLE_SHIFT * 3 + PTDESC_ORDER)
#define PUD_SIZE (_AC(1, UL) << PUD_SHIFT)
#define PUD_MASK (~(PUD_SIZE - 1))
/* Not a realm, no LPA2, nG mappings (KPTI-style), no POE. */
#define is_realm_world() 0
#define prot_ns_shared 0UL
#define arm64_use_ng_mappings 1
#include ".build/arm64-extracted.h"
static pte_t pte_mkwrite(pte_t pte) { return pte_mkwrite_novma(pte); }
static pgprot_t vm_prot(unsigned i) { return protection_map[i & 15]; }
#define PFN_BITS (48 - PAGE_SHIFT)
#else
#error "define KDIFF_X86_64 or KDIFF_ARM64"
#endif

#include ".build/swapops-extracted.h"

/* ---- seeded inputs ---- */

static u64 rng_state;
static u64 rnd(void)
{
	u64 x = rng_state;
	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	rng_state = x;
	return x * 0x2545F4914F6CDD1DULL;
}
static u64 rnd_below(u64 n) { return n ? rnd() % n : 0; }

/* A PTE-ish value: sometimes anything, mostly something a kernel would build. */
static pte_t rnd_pte(void)
{
	u64 k = rnd_below(8);
	if (k == 0)
		return __pte(rnd());
	if (k == 1)
		return __pte(rnd() & 0xfffULL);
	if (k == 2) { /* a swap-ish value */
		swp_entry_t e = swp_entry(rnd_below(32), rnd_below(1ULL << 34));
		pte_t p = swp_entry_to_pte(e);
		if (rnd() & 1) p = pte_swp_mkexclusive(p);
		if (rnd() & 1) p = pte_swp_mkuffd_wp(p);
		return p;
	}
	pte_t p = pfn_pte(rnd_below(1ULL << PFN_BITS), vm_prot(rnd_below(16)));
	for (int n = rnd_below(5); n > 0; n--) {
		switch (rnd_below(8)) {
		case 0: p = pte_mkdirty(p); break;
		case 1: p = pte_mkyoung(p); break;
		case 2: p = pte_wrprotect(p); break;
		case 3: p = pte_mkwrite(p); break;
		case 4: p = pte_mkclean(p); break;
		case 5: p = pte_mkuffd_wp(p); break;
		case 6: p = pte_mkspecial(p); break;
		default: p = pte_mkold(p); break;
		}
	}
	return p;
}
static pgprot_t rnd_prot(void)
{
	if (rnd_below(4) == 0)
		return __pgprot(rnd());
	return vm_prot(rnd_below(16));
}

#define X(v) ((unsigned long long)(v))

static void emit_entry(const char *name, swp_entry_t e, u64 arg)
{
	printf("%s %llx => %llx\n", name, X(arg), X(pte_val(swp_entry_to_pte(e))));
}

int main(int argc, char **argv)
{
	u64 seed = argc > 1 ? strtoull(argv[1], NULL, 0) : 1;
	int n = argc > 2 ? atoi(argv[2]) : 200;
	protection_map_init();
	rng_state = seed * 0x9E3779B97F4A7C15ULL + 1;
	printf("# kernel answers for %s, seed %llu, %d cases per function\n", KDIFF_NAME, X(seed), n);
	printf("const MAX_SWAPFILES => %x\n", MAX_SWAPFILES);
	printf("const SWP_HWPOISON => %x\n", SWP_HWPOISON);
	printf("const SWP_MIGRATION_READ => %x\n", SWP_MIGRATION_READ);
	printf("const SWP_MIGRATION_READ_EXCLUSIVE => %x\n", SWP_MIGRATION_READ_EXCLUSIVE);
	printf("const SWP_MIGRATION_WRITE => %x\n", SWP_MIGRATION_WRITE);
	printf("const SWP_DEVICE_WRITE => %x\n", SWP_DEVICE_WRITE);
	printf("const SWP_DEVICE_READ => %x\n", SWP_DEVICE_READ);
	printf("const SWP_DEVICE_EXCLUSIVE => %x\n", SWP_DEVICE_EXCLUSIVE);
	printf("const SWP_PTE_MARKER => %x\n", SWP_PTE_MARKER);
	printf("const SWP_PFN_BITS => %x\n", (unsigned)SWP_PFN_BITS);
	for (unsigned i = 0; i < 16; i++)
		printf("vm_get_page_prot %x => %llx\n", i, X(pgprot_val(vm_prot(i))));

	for (int i = 0; i < n; i++) {
		pte_t p = rnd_pte();
		u64 v = pte_val(p);
#define U1(fn) printf(#fn " %llx => %llx\n", X(v), X(!!fn(p)))
#define UN(fn) printf(#fn " %llx => %llx\n", X(v), X(fn(p)))
#define UP(fn) printf(#fn " %llx => %llx\n", X(v), X(pte_val(fn(p))))
#define M1(fn) printf(#fn " %llx => %llx\n", X(v), X(!!fn(__pmd(v))))
#define MN(fn) printf(#fn " %llx => %llx\n", X(v), X(fn(__pmd(v))))
#define MP(fn) printf(#fn " %llx => %llx\n", X(v), X(pmd_val(fn(__pmd(v)))))
#define D1(fn) printf(#fn " %llx => %llx\n", X(v), X(!!fn(__pud(v))))
#define DN(fn) printf(#fn " %llx => %llx\n", X(v), X(fn(__pud(v))))
		U1(pte_none);
		U1(pte_present);
		U1(pte_protnone);
		UN(pte_pfn);
		U1(pte_write);
		U1(pte_dirty);
		U1(pte_young);
		U1(pte_special);
		U1(pte_uffd_wp);
		UP(pte_mkwrite);
		UP(pte_wrprotect);
		UP(pte_mkdirty);
		UP(pte_mkclean);
		UP(pte_mkyoung);
		UP(pte_mkold);
		UP(pte_mkspecial);
		UP(pte_mkuffd_wp);
		UP(pte_clear_uffd_wp);
		U1(pte_swp_exclusive);
		U1(pte_swp_uffd_wp);
		UP(pte_swp_mkexclusive);
		UP(pte_swp_clear_exclusive);
		UP(pte_swp_mkuffd_wp);
		UP(pte_swp_clear_uffd_wp);
		UP(pte_swp_clear_flags);
		printf("pte_pgprot %llx => %llx\n", X(v), X(pgprot_val(pte_pgprot(p))));
		M1(pmd_none);
		M1(pmd_present);
		M1(pmd_leaf);
		M1(pmd_bad);
		MN(pmd_pfn);
		M1(pmd_protnone);
		MP(pmd_mkhuge);
		D1(pud_none);
		D1(pud_present);
		D1(pud_leaf);
		DN(pud_pfn);
#if defined(KDIFF_X86_64)
		U1(pte_soft_dirty);
		U1(pte_exec);
		U1(pte_global);
		UP(pte_mksoft_dirty);
		UP(pte_clear_soft_dirty);
		U1(pte_swp_soft_dirty);
		UP(pte_swp_mksoft_dirty);
		UP(pte_swp_clear_soft_dirty);
#else
		printf("pte_exec %llx => %llx\n", X(v), X(!!pte_user_exec(p)));
		U1(pte_cont);
		UP(pte_mkcont);
		UP(pte_mknoncont);
#endif
		{
			pgprot_t q = rnd_prot();
			printf("pte_modify %llx %llx => %llx\n", X(v), X(pgprot_val(q)),
			       X(pte_val(pte_modify(p, q))));
			printf("pmd_modify %llx %llx => %llx\n", X(v), X(pgprot_val(q)),
			       X(pmd_val(pmd_modify(__pmd(v), q))));
			u64 pfn = rnd_below(1ULL << PFN_BITS);
			printf("pfn_pte %llx %llx => %llx\n", X(pfn), X(pgprot_val(q)), X(pte_val(pfn_pte(pfn, q))));
			printf("pfn_pmd %llx %llx => %llx\n", X(pfn), X(pgprot_val(q)), X(pmd_val(pfn_pmd(pfn, q))));
			printf("pfn_pud %llx %llx => %llx\n", X(pfn), X(pgprot_val(q)), X(pud_val(pfn_pud(pfn, q))));
		}
		{
			/* pte_advance_pfn on a present entry built from a valid protection. */
			u64 pfn = rnd_below(1ULL << (PFN_BITS - 1));
			u64 nr = 1 + rnd_below(512);
			pte_t q = pfn_pte(pfn, vm_prot(rnd_below(16)));
			printf("pte_advance_pfn %llx %llx => %llx\n", X(pte_val(q)), X(nr), X(pte_val(pte_advance_pfn(q, nr))));
		}
		{
			unsigned type = rnd_below(32);
			u64 off = rnd() & ((1ULL << (rnd_below(4) == 0 ? 50 : 34)) - 1);
			swp_entry_t e = swp_entry(type, off);
			printf("swp_entry_to_pte %x %llx => %llx\n", type, X(off), X(pte_val(swp_entry_to_pte(e))));
			softleaf_t l = softleaf_from_pte(p);
			printf("softleaf_from_pte %llx => %x %llx\n", X(v), swp_type(l), X(swp_offset(l)));
			printf("softleaf_type %llx => %x\n", X(v), (unsigned)softleaf_type(l));
			if (softleaf_has_pfn(l)) {
				printf("softleaf_to_pfn %llx => %llx\n", X(v), X(softleaf_to_pfn(l)));
				if (softleaf_is_migration(l)) {
					printf("softleaf_is_migration_young %llx => %x\n", X(v), softleaf_is_migration_young(l));
					printf("softleaf_is_migration_dirty %llx => %x\n", X(v), softleaf_is_migration_dirty(l));
				}
			}
			if (softleaf_is_marker(l))
				printf("softleaf_to_marker %llx => %llx\n", X(v), X(softleaf_to_marker(l)));
		}
		{
			u64 pfn = rnd_below(1ULL << (MAX_PHYSMEM_BITS - PAGE_SHIFT));
			emit_entry("make_readable_migration_entry", make_readable_migration_entry(pfn), pfn);
			emit_entry("make_readable_exclusive_migration_entry", make_readable_exclusive_migration_entry(pfn), pfn);
			emit_entry("make_writable_migration_entry", make_writable_migration_entry(pfn), pfn);
			emit_entry("make_migration_entry_young", make_migration_entry_young(make_writable_migration_entry(pfn)), pfn);
			emit_entry("make_migration_entry_dirty", make_migration_entry_dirty(make_readable_migration_entry(pfn)), pfn);
			emit_entry("make_readable_device_private_entry", make_readable_device_private_entry(pfn), pfn);
			emit_entry("make_writable_device_private_entry", make_writable_device_private_entry(pfn), pfn);
			emit_entry("make_device_exclusive_entry", make_device_exclusive_entry(pfn), pfn);
			emit_entry("make_hwpoison_entry", swp_entry(SWP_HWPOISON, pfn), pfn);
			unsigned m = 1 + rnd_below(PTE_MARKER_MASK);
			printf("make_pte_marker %x => %llx\n", m, X(pte_val(make_pte_marker(m))));
		}
	}
	return 0;
}
