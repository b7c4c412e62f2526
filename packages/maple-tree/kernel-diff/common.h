// SPDX-License-Identifier: MIT
/*
 * Helpers shared by the kernel-side drivers (kdiff.c, vma-mix.c); included
 * after lib/maple_tree.c, whose internal helpers they use.
 */
#ifndef KDIFF_COMMON_H
#define KDIFF_COMMON_H

/* Nodes reachable from @enode (covering up to @max), by depth-first walk. */
static unsigned long count_nodes(struct maple_tree *mt, struct maple_enode *enode,
				 unsigned long max)
{
	struct maple_node *node = mte_to_node(enode);
	enum maple_type type = mte_node_type(enode);
	unsigned long *pivots = ma_pivots(node, type);
	unsigned long count = 1;
	unsigned char i, end;
	void __rcu **slots;

	if (ma_is_leaf(type))
		return 1;
	/* The metadata shares the last slot: the data end needs the node max. */
	end = ma_data_end(node, type, pivots, max);
	slots = ma_slots(node, type);
	for (i = 0; i <= end; i++)
		count += count_nodes(mt, mt_slot_locked(mt, slots, i),
				     i < mt_pivots[type] ? pivots[i] : max);
	return count;
}

#endif
