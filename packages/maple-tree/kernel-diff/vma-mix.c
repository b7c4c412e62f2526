// SPDX-License-Identifier: MIT
/*
 * vma-mix on the kernel's own lib/maple_tree.c, built in userspace at -O2
 * without sanitizers (see build.sh). The workload is the one in
 * bench/vma-mix.bench.ts (issue 5): same PRNG, same phases, same checksums.
 * Prints one line per phase: name, operations, seconds, operations per second.
 */
/*
 * The userspace shim (tools/testing/shared/maple-shim.c) with one change: no
 * CONFIG_DEBUG_MAPLE_TREE, whose checks and test counters (atomics on every
 * MT_BUG_ON) sit in the hot paths; a production kernel builds without it.
 */
#define __MAPLE_SHARED_H__
#define CONFIG_MAPLE_SEARCH
#define MAPLE_32BIT (MAPLE_NODE_SLOTS > 31)
#include "test.h"
#include "../shared/shared.h"
#include <stdlib.h>
#include <time.h>
#include "linux/init.h"
void maple_rcu_cb(struct rcu_head *head);
#define rcu_cb maple_rcu_cb
#define kfree_rcu(_struct, _memb)				\
do {								\
	typeof(_struct) _p_struct = (_struct);			\
	call_rcu(&((_p_struct)->_memb), rcu_cb);		\
} while (0)
#include <linux/slab.h>
#include "../../../lib/maple_tree.c"

void maple_rcu_cb(struct rcu_head *head)
{
	struct maple_node *node = container_of(head, struct maple_node, rcu);

	kmem_cache_free(maple_node_cache, node);
}
#include "common.h"

#include <stdio.h>
#include <stdint.h>
#include <time.h>

#define N 100000UL
#define PAGE 4096UL
#define BASE 0x10000000UL

static uint32_t x = 2463534242u;

static uint32_t next(void)
{
	x ^= x << 13;
	x ^= x >> 17;
	x ^= x << 5;
	return x;
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec * 1e-9;
}

static void report(const char *phase, unsigned long ops, double secs)
{
	printf("%-10s %8lu ops %9.4f s %12.0f ops/s\n", phase, ops, secs, ops / secs);
}

static unsigned long first[N], last[N];
static uint32_t order[N];

int main(void)
{
	DEFINE_MTREE(tree);
	struct maple_tree *mt = &tree;
	unsigned long cursor = BASE, i, k;
	uint32_t c1 = 0, c2 = 0, c3 = 0, c4 = 0;
	double t;

	maple_tree_init();
	rcu_register_thread();
	mt_init_flags(mt, MT_FLAGS_ALLOC_RANGE);

	for (i = 0; i < N; i++) {
		unsigned long gap = next() % 16, len = 1 + next() % 64;

		first[i] = cursor + gap * PAGE;
		last[i] = first[i] + len * PAGE - 1;
		cursor = last[i] + 1;
		order[i] = i;
	}
	for (i = N - 1; i >= 1; i--) {
		uint32_t j = next() % (i + 1), tmp = order[i];

		order[i] = order[j];
		order[j] = tmp;
	}

	t = now();
	for (i = 0; i < N; i++) {
		uint32_t idx = order[i];

		mtree_store_range(mt, first[idx], last[idx], xa_mk_value(idx + 1), GFP_KERNEL);
	}
	report("build", N, now() - t);
	mtree_lock(mt);
	printf("nodes %lu height %u\n", count_nodes(mt, mt_root_locked(mt), ULONG_MAX), mt_height(mt));
	mtree_unlock(mt);

	t = now();
	rcu_read_lock();
	for (k = 0; k < 1000000; k++) {
		uint32_t idx = next() % N;
		unsigned long addr;
		void *e;

		if (k % 4 == 3)
			addr = first[idx] - 1;
		else
			addr = first[idx] + next() % (last[idx] - first[idx] + 1);
		e = mtree_load(mt, addr);
		if (e)
			c1 += xa_to_value(e);
	}
	rcu_read_unlock();
	report("lookup", 1000000, now() - t);

	t = now();
	rcu_read_lock();
	for (k = 0; k < 100000; k++) {
		unsigned long size = (1 + next() % 8) * PAGE;
		MA_STATE(mas, mt, 0, 0);

		if (mas_empty_area(&mas, BASE, cursor - 1, size) == 0)
			c2 += (mas.index - BASE) / PAGE;
	}
	rcu_read_unlock();
	report("gap", 100000, now() - t);

	t = now();
	for (k = 0; k < 200000; k++) {
		uint32_t idx = next() % N;
		unsigned long pages;

		mtree_erase(mt, first[idx]);
		pages = 1 + next() % ((last[idx] - first[idx] + 1) / PAGE);
		last[idx] = first[idx] + pages * PAGE - 1;
		mtree_store_range(mt, first[idx], last[idx], xa_mk_value(idx + 1 + N), GFP_KERNEL);
	}
	report("churn", 200000, now() - t);

	t = now();
	rcu_read_lock();
	for (k = 0; k < 200; k++) {
		unsigned long size = (64 + next() % 64) * PAGE;
		MA_STATE(mas, mt, 0, 0);

		if (mas_empty_area(&mas, BASE, cursor + (1UL << 32) - 1, size) == 0)
			c4 += (mas.index - BASE) / PAGE;
	}
	rcu_read_unlock();
	report("gap-large", 200, now() - t);

	{
		unsigned long index = 0, entries = 0;
		void *e;

		t = now();
		mt_for_each(mt, e, index, ULONG_MAX) {
			c3 += xa_to_value(e);
			entries++;
		}
		report("iterate", entries, now() - t);
	}

	printf("checksum1 %u checksum2 %u checksum3 %u checksum4 %u\n", c1, c2, c3, c4);
	mtree_destroy(mt);
	rcu_barrier();
	rcu_unregister_thread();
	return 0;
}
