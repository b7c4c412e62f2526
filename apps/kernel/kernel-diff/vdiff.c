// SPDX-License-Identifier: MIT
/*
 * vdiff: run a VMA operation script through the kernel's own mm/vma.c
 * (built in userspace with the kernel's tools/testing/vma harness) and print
 * one answer line per operation: the operation's result and the address
 * space after it (map_count, the VM counters, every VMA's range, pgoff,
 * flags, anon_vma, anon_vma_chain length, file and close hook). The same
 * script replayed through @mm/kernel's VMA layer must print the same lines;
 * see test/kernel-diff/vma-ops.ts for the script language (every number is hex;
 * addresses and lengths in pages).
 *
 * Built by build.sh in a copy of the harness; never compiled by npm test or CI.
 */
#include "shared.h"

/*
 * The harness's anon_vma shims do not keep anon_vma_chain lists (a split
 * leaves the new VMA with an empty chain, which mm/vma.c then takes for a
 * forked VMA). Rename them and give mm/vma.c the behaviour of mm/rmap.c:
 * one chain link per anon_vma of the source, and unlinking that empties the
 * chain and clears vma->anon_vma.
 */
static int vdiff_anon_vma_clone(struct vm_area_struct *dst, struct vm_area_struct *src,
				enum vma_operation operation);
static void vdiff_unlink_anon_vmas(struct vm_area_struct *vma);
#define anon_vma_clone vdiff_anon_vma_clone
#define unlink_anon_vmas vdiff_unlink_anon_vmas

/* The harness stubs vma_supports_mlock() to false; give mm/vma.c mm/internal.h's answer. */
static bool vdiff_vma_supports_mlock(const struct vm_area_struct *vma)
{
	return !(vma->vm_flags & (VM_SPECIAL | VM_DROPPABLE | VM_HUGETLB));
}
#define vma_supports_mlock vdiff_vma_supports_mlock

#include "../../../mm/vma_init.c"
#include "../../../mm/vma_exec.c"
#include "../../../mm/vma.c"

#include <stdio.h>
#include <string.h>

int sysctl_max_map_count __read_mostly = DEFAULT_MAX_MAP_COUNT;

/* What tools/testing/vma/main.c gives shared.c. */
int attach_vma(struct mm_struct *mm, struct vm_area_struct *vma)
{
	int res = vma_link(mm, vma);

	if (!res)
		vma_assert_attached(vma);
	return res;
}

#define PAGE(x) ((unsigned long)(x) << PAGE_SHIFT)
/* The VMA tree's flags in the kernel (include/linux/mm_types.h); the harness's own tests use 0. */
#define MM_MT_FLAGS (MT_FLAGS_ALLOC_RANGE | MT_FLAGS_LOCK_EXTERN | MT_FLAGS_USE_RCU)
#define NR_AV 6

static struct anon_vma avs[NR_AV];
static struct address_space mappings[3];
static const struct file_operations fops;
static struct file files[3];
static const struct vm_operations_struct close_ops = { .close = dummy_close };
static struct mm_struct mm;
static int fail_next;

static int vdiff_anon_vma_clone(struct vm_area_struct *dst, struct vm_area_struct *src,
				enum vma_operation operation)
{
	struct anon_vma_chain *pavc;

	if (!src->anon_vma)
		return 0;
	list_for_each_entry(pavc, &src->anon_vma_chain, same_vma) {
		struct anon_vma_chain *avc = calloc(1, sizeof(*avc));

		avc->anon_vma = pavc->anon_vma;
		list_add_tail(&avc->same_vma, &dst->anon_vma_chain);
	}
	return 0;
}

static void vdiff_unlink_anon_vmas(struct vm_area_struct *vma)
{
	struct anon_vma_chain *avc, *next;

	list_for_each_entry_safe(avc, next, &vma->anon_vma_chain, same_vma) {
		list_del(&avc->same_vma);
		free(avc);
	}
	vma->anon_vma = NULL;
}

static int av_id(struct anon_vma *av)
{
	int i;

	if (!av)
		return 0;
	for (i = 1; i < NR_AV; i++)
		if (av == &avs[i])
			return i;
	return 99;
}

static int file_id(struct file *f)
{
	return f ? (int)(f - files) : 0;
}

static int chain_len(struct vm_area_struct *vma)
{
	struct list_head *p;
	int n = 0;

	list_for_each(p, &vma->anon_vma_chain)
		n++;
	return n;
}

static void chain_add(struct vm_area_struct *vma, struct anon_vma *av)
{
	struct anon_vma_chain *avc = calloc(1, sizeof(*avc));

	avc->anon_vma = av;
	list_add_tail(&avc->same_vma, &vma->anon_vma_chain);
}

static unsigned long num(char **save)
{
	char *t = strtok_r(NULL, " \t\n", save);

	if (!t) {
		fprintf(stderr, "vdiff: missing number\n");
		exit(2);
	}
	return strtoul(t, NULL, 16);
}

static void put_state(char **p)
{
	struct vm_area_struct *vma;
	VMA_ITERATOR(vmi, &mm, 0);

	*p += sprintf(*p, " | mc=%d tv=%lu lv=%lu dv=%lu ev=%lu sv=%lu :", mm.map_count,
		      mm.total_vm, mm.locked_vm, mm.data_vm, mm.exec_vm, mm.stack_vm);
	for_each_vma(vmi, vma)
		*p += sprintf(*p, " %lx-%lx-%lx-%lx-%d-%d-%d-%d", vma->vm_start >> PAGE_SHIFT,
			      vma->vm_end >> PAGE_SHIFT, vma->vm_pgoff, vma->vm_flags,
			      av_id(vma->anon_vma), chain_len(vma), file_id(vma->vm_file),
			      vma->vm_ops == &close_ops);
}

static void reset(void)
{
	VMA_ITERATOR(vmi, &mm, 0);
	struct vm_area_struct *vma;

	for_each_vma(vmi, vma) {
		vdiff_unlink_anon_vmas(vma);
		detach_free_vma(vma);
	}
	mtree_destroy(&mm.mm_mt);
	memset(&mm, 0, sizeof(mm));
	mt_init_flags(&mm.mm_mt, MM_MT_FLAGS);
	current->mm = &mm;
}

/* Set up prev, next and the iterator as __mmap_setup() does for a free range. */
static struct vm_area_struct *do_merge_new(struct vma_merge_struct *vmg)
{
	vmg->next = vma_iter_next_rewind(vmg->vmi, &vmg->prev);
	return vma_merge_new_range(vmg);
}

static void set_vmg(struct vma_merge_struct *vmg, struct vma_iterator *vmi, unsigned long s, unsigned long e,
		    unsigned long pg, unsigned long f, int av, int fi)
{
	memset(vmg, 0, sizeof(*vmg));
	vmg->mm = &mm;
	vmg->vmi = vmi;
	vma_iter_set(vmi, s);
	vmg->start = s;
	vmg->end = e;
	vmg->pgoff = pg;
	vmg->vma_flags = legacy_to_vma_flags(f);
	vmg->anon_vma = av ? &avs[av] : NULL;
	vmg->file = fi ? &files[fi] : NULL;
}

static struct vm_area_struct *link_new(unsigned long s, unsigned long e, unsigned long pg, unsigned long f,
				       int av, int links, int fi, int cl)
{
	/* alloc_and_link_vma() would "detach" a VMA that never got attached when linking fails */
	struct vm_area_struct *vma = alloc_vma(&mm, s, e, pg, legacy_to_vma_flags(f));

	if (!vma)
		return NULL;
	if (attach_vma(&mm, vma)) {
		vm_area_free(vma);
		return NULL;
	}
	vma->vm_lock_seq = UINT_MAX;
	if (av) {
		vma->anon_vma = &avs[av];
		chain_add(vma, &avs[av]);
		if (links > 1)
			chain_add(vma, &avs[5]); /* a forked VMA: its parent's anon_vma too */
	}
	if (fi)
		vma->vm_file = &files[fi];
	if (cl)
		vma->vm_ops = &close_ops;
	vm_stat_account(&mm, f, (e - s) >> PAGE_SHIFT);
	return vma;
}

/* The loop of do_mprotect_pkey() with mprotect_fixup() reduced to the VMA change. */
static int do_mprotect_like(unsigned long start, unsigned long end, unsigned long prot)
{
	struct vm_area_struct *vma, *prev;
	unsigned long nstart, tmp;
	int error = 0;
	VMA_ITERATOR(vmi, &mm, start);

	vma = vma_find(&vmi, end);
	if (!vma || vma->vm_start > start)
		return -ENOMEM;
	prev = vma_prev(&vmi);
	if (start > vma->vm_start)
		prev = vma;
	nstart = start;
	tmp = vma->vm_start;
	for_each_vma_range(vmi, vma, end) {
		vma_flags_t nf;
		unsigned long newflags;

		if (vma->vm_start != tmp) {
			error = -ENOMEM;
			break;
		}
		newflags = (vma->vm_flags & ~(VM_READ | VM_WRITE | VM_EXEC)) | prot;
		tmp = vma->vm_end;
		if (tmp > end)
			tmp = end;
		if (newflags == vma->vm_flags) {
			prev = vma;
		} else {
			unsigned long oldflags = vma->vm_flags;

			nf = legacy_to_vma_flags(newflags);
			vma = vma_modify_flags(&vmi, prev, vma, nstart, tmp, &nf);
			if (IS_ERR(vma)) {
				error = PTR_ERR(vma);
				break;
			}
			prev = vma;
			vma->flags = nf;
			/* mprotect_fixup()'s accounting */
			vm_stat_account(&mm, oldflags, -(long)((tmp - nstart) >> PAGE_SHIFT));
			vm_stat_account(&mm, vma->vm_flags, (tmp - nstart) >> PAGE_SHIFT);
		}
		tmp = vma_iter_end(&vmi);
		nstart = tmp;
	}
	if (!error && tmp < end)
		error = -ENOMEM;
	return error;
}

int main(void)
{
	char line[512];
	static char out[1 << 16];
	int i;

	setvbuf(stdout, NULL, _IOLBF, 0);
	maple_tree_init();
	vma_state_init();
	for (i = 0; i < NR_AV; i++)
		avs[i].root = &avs[i];
	for (i = 0; i < 3; i++) {
		files[i].f_mapping = &mappings[i];
		files[i].f_op = &fops;
	}
	mt_init_flags(&mm.mm_mt, MM_MT_FLAGS);
	current->mm = &mm;

	while (fgets(line, sizeof(line), stdin)) {
		char *save, *op, *p = out;
		struct vma_merge_struct vmg;
		struct vm_area_struct *vma, *prev;
		VMA_ITERATOR(vmi, &mm, 0);
		unsigned long a, b, c, d, e;
		int ret;

		out[0] = '\0';
		op = strtok_r(line, " \t\n", &save);
		if (!op || op[0] == '#')
			continue;
		fail_prealloc = fail_next;
		fail_next = 0;

		if (!strcmp(op, "reset")) {
			reset();
			sysctl_max_map_count = (int)num(&save);
			puts("ok");
			continue;
		} else if (!strcmp(op, "fail")) {
			fail_next = 1;
			puts("ok");
			continue;
		} else if (!strcmp(op, "add")) {
			a = num(&save); b = num(&save); c = num(&save); d = num(&save);
			{
				int av = num(&save), links = num(&save), fi = num(&save), cl = num(&save);

				vma = link_new(PAGE(a), PAGE(b), c, d, av, links, fi, cl);
			}
			p += sprintf(p, vma ? "ok" : "fail");
		} else if (!strcmp(op, "mn") || !strcmp(op, "mnl")) {
			a = num(&save); b = num(&save); c = num(&save); d = num(&save);
			{
				int av = num(&save), fi = num(&save);

				set_vmg(&vmg, &vmi, PAGE(a), PAGE(b), c, d, av, fi);
				vma = do_merge_new(&vmg);
				if (vma)
					vm_stat_account(&mm, d, b - a);
				if (vma)
					p += sprintf(p, "m %lx %lx %lx s%d", vma->vm_start >> PAGE_SHIFT,
						     vma->vm_end >> PAGE_SHIFT, vma->vm_pgoff, vmg.state);
				else if (!strcmp(op, "mnl") && vmg.state == VMA_MERGE_NOMERGE)
					p += sprintf(p, link_new(PAGE(a), PAGE(b), c, d, av, 1, fi, 0) ?
						     "l" : "lfail");
				else
					p += sprintf(p, "n s%d", vmg.state);
			}
		} else if (!strcmp(op, "mod")) {
			vma_flags_t nf;

			a = num(&save); b = num(&save); d = num(&save);
			vma_iter_set(&vmi, PAGE(a));
			vma = vma_iter_load(&vmi);
			if (!vma || PAGE(b) > vma->vm_end) {
				fprintf(stderr, "vdiff: bad mod %lx %lx\n", a, b);
				exit(2);
			}
			prev = vma_prev(&vmi);
			vma_iter_set(&vmi, PAGE(a));
			vma_iter_load(&vmi);
			if (PAGE(a) > vma->vm_start)
				prev = vma;
			nf = legacy_to_vma_flags(d);
			e = vma->vm_flags;
			vma = vma_modify_flags(&vmi, prev, vma, PAGE(a), PAGE(b), &nf);
			if (IS_ERR(vma)) {
				p += sprintf(p, "e%ld", PTR_ERR(vma));
			} else {
				vma->flags = nf;
				vm_stat_account(&mm, e, -(long)(b - a));
				vm_stat_account(&mm, vma->vm_flags, b - a);
				p += sprintf(p, "r %lx %lx %lx %lx", vma->vm_start >> PAGE_SHIFT,
					     vma->vm_end >> PAGE_SHIFT, vma->vm_pgoff, vma->vm_flags);
			}
		} else if (!strcmp(op, "mp")) {
			a = num(&save); b = num(&save); d = num(&save);
			p += sprintf(p, "%d", do_mprotect_like(PAGE(a), PAGE(b), d));
		} else if (!strcmp(op, "sp")) {
			a = num(&save); b = num(&save);
			vma_iter_set(&vmi, PAGE(a));
			vma = vma_iter_load(&vmi);
			if (!vma || vma->vm_start == PAGE(a)) {
				fprintf(stderr, "vdiff: bad split %lx\n", a);
				exit(2);
			}
			p += sprintf(p, "%d", split_vma(&vmi, vma, PAGE(a), (int)b));
		} else if (!strcmp(op, "ex")) {
			a = num(&save); b = num(&save);
			vma_iter_set(&vmi, PAGE(a));
			vma = vma_iter_load(&vmi);
			memset(&vmg, 0, sizeof(vmg));
			vmg.mm = &mm;
			vmg.vmi = &vmi;
			vmg.target = vma;
			vmg.start = vma->vm_start;
			vmg.end = PAGE(b);
			vmg.pgoff = vma->vm_pgoff;
			vmg.vma_flags = vma->flags;
			vmg.next = vma_next(&vmi);
			vma_iter_set(&vmi, vma->vm_start);
			vma_iter_load(&vmi);
			{
				unsigned long old_end = vma->vm_end, nf = 0, np = 0;

				if (vmg.next && vmg.next->vm_end == vmg.end) {
					nf = vmg.next->vm_flags;
					np = vma_pages(vmg.next);
				}
				ret = vma_expand(&vmg);
				if (!ret) {
					vm_stat_account(&mm, nf, -(long)np);
					vm_stat_account(&mm, vma->vm_flags, (vmg.end - old_end) >> PAGE_SHIFT);
				}
			}
			p += sprintf(p, "%d s%d", ret, vmg.state);
		} else if (!strcmp(op, "sh")) {
			a = num(&save); b = num(&save); c = num(&save);
			vma_iter_set(&vmi, PAGE(a));
			vma = vma_iter_load(&vmi);
			e = vma_pages(vma);
			ret = vma_shrink(&vmi, vma, PAGE(b), PAGE(c),
					 vma->vm_pgoff + ((PAGE(b) - vma->vm_start) >> PAGE_SHIFT));
			if (!ret)
				vm_stat_account(&mm, vma->vm_flags, -(long)(e - vma_pages(vma)));
			p += sprintf(p, "%d", ret);
		} else if (!strcmp(op, "um")) {
			a = num(&save); b = num(&save);
			vma_iter_set(&vmi, PAGE(a));
			p += sprintf(p, "%d", do_vmi_munmap(&vmi, &mm, PAGE(a), PAGE(b), NULL, false));
		} else if (!strcmp(op, "ext")) {
			a = num(&save); b = num(&save);
			vma_iter_set(&vmi, PAGE(a));
			vma = vma_iter_load(&vmi);
			vma_iter_set(&vmi, vma->vm_end);
			vma = vma_merge_extend(&vmi, vma, PAGE(b));
			if (vma)
				vm_stat_account(&mm, vma->vm_flags, b);
			if (vma)
				p += sprintf(p, "r %lx %lx %lx", vma->vm_start >> PAGE_SHIFT,
					     vma->vm_end >> PAGE_SHIFT, vma->vm_pgoff);
			else
				p += sprintf(p, "n");
		} else if (!strcmp(op, "cp")) {
			bool need_rmap_locks = false;
			struct vm_area_struct *src, *nv;

			a = num(&save); b = num(&save); c = num(&save); d = num(&save);
			vma_iter_set(&vmi, PAGE(a));
			src = vma = vma_iter_load(&vmi);
			nv = copy_vma(&vma, PAGE(b), PAGE(c),
				      vma->vm_pgoff + ((PAGE(a) - vma->vm_start) >> PAGE_SHIFT),
				      &need_rmap_locks, d);
			if (nv)
				vm_stat_account(&mm, vma->vm_flags, c);
			if (nv)
				p += sprintf(p, "r %lx %lx %lx %d %d", nv->vm_start >> PAGE_SHIFT,
					     nv->vm_end >> PAGE_SHIFT, nv->vm_pgoff, need_rmap_locks, vma != src);
			else
				p += sprintf(p, "n");
		} else if (!strcmp(op, "mr")) {
			unsigned long r;

			a = num(&save); b = num(&save); d = num(&save); c = num(&save); e = num(&save);
			r = __mmap_region(e ? &files[e] : NULL, PAGE(a), PAGE(b), legacy_to_vma_flags(d), c, NULL);
			if (IS_ERR_VALUE(r))
				p += sprintf(p, "e%ld", (long)r);
			else
				p += sprintf(p, "a %lx", r >> PAGE_SHIFT);
		} else if (!strcmp(op, "brk")) {
			a = num(&save); b = num(&save);
			vma_iter_set(&vmi, PAGE(a));
			vma = vma_prev(&vmi);
			ret = do_brk_flags(&vmi, vma, PAGE(a), PAGE(b), EMPTY_VMA_FLAGS);
			p += sprintf(p, "%d", ret);
		} else if (!strcmp(op, "fma")) {
			a = num(&save);
			vma_iter_set(&vmi, PAGE(a));
			vma = vma_iter_load(&vmi);
			p += sprintf(p, "%d", av_id(find_mergeable_anon_vma(vma)));
		} else {
			fprintf(stderr, "vdiff: unknown op %s\n", op);
			exit(2);
		}
		put_state(&p);
		puts(out);
	}
	return 0;
}
