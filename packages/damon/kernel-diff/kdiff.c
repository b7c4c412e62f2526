/*
 * Differential driver for DAMON's core: runs seeded random cases through
 * the kernel's own functions (Linux 7.2 mm/damon/core.c and the hot/cold
 * scores of ops-common.c, extracted by build.sh) and prints each case's
 * input and the kernel's answer as one JSON line. test/kernel-diff.test.ts
 * replays every line through @mm/damon and compares.
 *
 *   kdiff <kind> <seed> <count>
 *
 * Kinds: rand, merge, split, setregions, mvsum, access, attrs, tune, feed,
 * esz, adjust, score, wmark, filter, apply. Each line is
 *   {"k":"<kind>", ...input..., "out":{...answer...}}
 * Regions print as [start, end, nr_accesses, nr_accesses_bp, age,
 * last_nr_accesses]. u64 values that may pass 2^53 print as strings.
 * prandom_u32_state() hands out a scripted stream; the values a case
 * consumed print as "rnd" so the TypeScript side can replay them.
 */
#include "shim.h"
#include <linux/damon.h>

long kdiff_warnings;
long kdiff_allocs;
unsigned long jiffies;
s64 kdiff_clock_ns;
unsigned long kdiff_free_pages = 1, kdiff_totalram_pages = 1;
static struct kmem_cache *damon_region_cache;

/* node memory for the node_mem goals */
enum { N_MEMORY };
struct sysinfo { unsigned long totalram, freeram; };
static unsigned long kdiff_node_total[4], kdiff_node_free[4];
static bool node_state(int nid, int state)
{
	(void)state;
	return nid >= 0 && nid < 4 && kdiff_node_total[nid] != 0;
}
static void si_meminfo_node(struct sysinfo *i, int nid)
{
	i->totalram = kdiff_node_total[nid];
	i->freeram = kdiff_node_free[nid];
}
static u64 kdiff_psi_total_us;
static u64 damos_get_some_mem_psi_total(void) { return kdiff_psi_total_us; }
static unsigned long damos_get_node_memcg_used_bp(struct damos_quota_goal *goal) { (void)goal; abort(); }
static unsigned long damos_get_node_eligible_mem_bp(struct damon_ctx *c, struct damos *s, int nid)
{
	(void)c; (void)s; (void)nid;
	abort();
}
static unsigned int damos_get_in_active_mem_bp(bool active_ratio) { (void)active_ratio; abort(); }

static int damon_split_region_at(struct damon_target *t, struct damon_region *r, unsigned long sz_r);
static unsigned long damon_feed_loop_next_input(unsigned long last_input, unsigned long score);

#include "extracted.c"

/* ---- case generation: splitmix64 ---- */
static u64 gen_state;
static u64 gen64(void)
{
	u64 z = (gen_state += 0x9e3779b97f4a7c15ULL);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}
/* uniform in [0, n) (n > 0) */
static u64 below(u64 n) { return gen64() % n; }
static bool chance(int pct) { return below(100) < (u64)pct; }
static u64 range(u64 lo, u64 hi) { return lo + below(hi - lo + 1); }

/* ---- the scripted PRNG stream damon_rand() reads ---- */
static u64 rnd_state_x;
static u32 rnd_log[4096];
static int rnd_n;
u32 prandom_u32_state(struct rnd_state *state)
{
	(void)state;
	u64 z = (rnd_state_x += 0x9e3779b97f4a7c15ULL);
	z = (z ^ (z >> 33)) * 0xff51afd7ed558ccdULL;
	z ^= z >> 33;
	if (rnd_n >= (int)(sizeof(rnd_log) / sizeof(rnd_log[0])))
		abort();
	rnd_log[rnd_n++] = (u32)z;
	return (u32)z;
}
static void rnd_begin(void)
{
	rnd_state_x = gen64();
	rnd_n = 0;
}
static void print_rnd(void)
{
	printf(",\"rnd\":[");
	for (int i = 0; i < rnd_n; i++)
		printf("%s%u", i ? "," : "", rnd_log[i]);
	printf("]");
}

/* ---- building and printing state ---- */
static unsigned long min_region_sz_pick(void)
{
	static const unsigned long sizes[] = { 1, 1, 8, 4096, 4096, 4096, 65536 };
	return sizes[below(sizeof(sizes) / sizeof(sizes[0]))];
}

static struct damon_ctx *new_ctx(void)
{
	struct damon_ctx *c = kzalloc_obj(*c);

	c->attrs.sample_interval = 5000;
	c->attrs.aggr_interval = 100000;
	c->attrs.ops_update_interval = 60000000;
	c->attrs.min_nr_regions = 10;
	c->attrs.max_nr_regions = 1000;
	c->attrs.aggr_samples = 20;
	INIT_LIST_HEAD(&c->call_controls);
	INIT_LIST_HEAD(&c->probes);
	INIT_LIST_HEAD(&c->adaptive_targets);
	INIT_LIST_HEAD(&c->schemes);
	c->addr_unit = 1;
	c->min_region_sz = 4096;
	c->regions_score_histogram = kdiff_alloc(sizeof(unsigned long) * (DAMOS_MAX_SCORE + 1));
	return c;
}

static void free_target(struct damon_target *t)
{
	struct damon_region *r, *next;

	damon_for_each_region_safe(r, next, t)
		damon_destroy_region(r, t);
	kfree(t);
}

static void free_scheme(struct damos *s)
{
	struct damos_filter *f, *fn;
	struct damos_quota_goal *g, *gn;

	damos_for_each_core_filter_safe(f, fn, s) {
		list_del(&f->list);
		kfree(f);
	}
	damos_for_each_ops_filter_safe(f, fn, s) {
		list_del(&f->list);
		kfree(f);
	}
	damos_for_each_quota_goal_safe(g, gn, &s->quota) {
		list_del(&g->list);
		kfree(g);
	}
	list_del(&s->list);
	kfree(s);
}

static void free_ctx(struct damon_ctx *c)
{
	struct damon_target *t, *tn;
	struct damos *s, *sn;

	damon_for_each_target_safe(t, tn, c) {
		list_del(&t->list);
		free_target(t);
	}
	damon_for_each_scheme_safe(s, sn, c)
		free_scheme(s);
	kfree(c->regions_score_histogram);
	kfree(c);
}

/*
 * Random regions for `t` in [base, ...): `n` regions of multiples of
 * `unit`, contiguous or (with `gaps`) with holes between some; counters
 * consistent at a window end (nr_accesses_bp = nr_accesses * 10000) unless
 * `midwindow`.
 */
static unsigned long fill_regions(struct damon_target *t, unsigned long base, int n, unsigned long unit,
				  unsigned long max_units, unsigned int max_acc, bool gaps, bool midwindow)
{
	unsigned long a = base;

	for (int i = 0; i < n; i++) {
		unsigned long sz = unit * range(1, max_units);
		struct damon_region *r;

		if (gaps && chance(25))
			a += unit * range(1, max_units);
		r = damon_new_region(a, a + sz);
		r->nr_accesses = chance(30) ? 0 : chance(10) ? max_acc : (unsigned int)below((u64)max_acc + 1);
		r->last_nr_accesses = chance(30) ? 0 : chance(30) ? r->nr_accesses : (unsigned int)below((u64)max_acc + 1);
		r->age = chance(20) ? 0 : (unsigned int)below(chance(10) ? 100000 : 200);
		r->nr_accesses_bp = midwindow ? (unsigned int)below((u64)(max_acc + 1) * 10000) : r->nr_accesses * 10000;
		damon_add_region(r, t);
		a += sz;
	}
	return a;
}

static void print_regions(struct damon_target *t)
{
	struct damon_region *r;
	bool first = true;

	printf("[");
	damon_for_each_region(r, t) {
		printf("%s[%lu,%lu,%u,%u,%u,%u]", first ? "" : ",", r->ar.start, r->ar.end, r->nr_accesses,
		       r->nr_accesses_bp, r->age, r->last_nr_accesses);
		first = false;
	}
	printf("]");
}

static void print_targets(struct damon_ctx *c)
{
	struct damon_target *t;
	bool first = true;

	printf("[");
	damon_for_each_target(t, c) {
		printf("%s", first ? "" : ",");
		print_regions(t);
		first = false;
	}
	printf("]");
}

static void print_attrs(struct damon_attrs *a)
{
	printf("[%lu,%lu,%lu,%lu,%lu,%lu,%lu,%lu,%lu,%lu]", a->sample_interval, a->aggr_interval,
	       a->ops_update_interval, a->min_nr_regions, a->max_nr_regions, a->aggr_samples,
	       a->intervals_goal.access_bp, a->intervals_goal.aggrs, a->intervals_goal.min_sample_us,
	       a->intervals_goal.max_sample_us);
}

/* random valid attributes (sample <= aggr, aggr_samples as damon_set_attrs sets it) */
static void random_attrs(struct damon_attrs *a)
{
	static const unsigned long samples[] = { 0, 1, 100, 1000, 5000, 5000, 20000, 100000 };

	memset(a, 0, sizeof(*a));
	a->sample_interval = samples[below(8)];
	if (chance(10))
		a->sample_interval = range(1, 1000000);
	a->aggr_interval = a->sample_interval * range(1, 40);
	if (chance(20))
		a->aggr_interval = range(a->sample_interval, 2000000);
	a->ops_update_interval = chance(50) ? 60000000 : range(0, 10000000);
	a->min_nr_regions = range(3, 50);
	a->max_nr_regions = range(a->min_nr_regions, chance(50) ? 100 : 2000);
	a->aggr_samples = a->aggr_interval / (a->sample_interval ? a->sample_interval : 1);
}

/* ---- kinds ---- */

static void case_rand(void)
{
	struct damon_ctx *c = new_ctx();
	unsigned long l, r, out[8];
	int n = (int)range(1, 8);

	printf("{\"k\":\"rand\",\"in\":[");
	rnd_begin();
	for (int i = 0; i < n; i++) {
		unsigned int bits = (unsigned int)range(1, 53);

		l = below(1UL << 52);
		r = l + range(1, (1UL << bits) - 1 + (bits == 53 ? 0 : 0));
		if (r >= (1UL << 53))
			r = (1UL << 53) - 1;
		if (r <= l)
			r = l + 1;
		out[i] = damon_rand(c, l, r);
		printf("%s[%lu,%lu]", i ? "," : "", l, r);
	}
	printf("]");
	print_rnd();
	printf(",\"out\":[");
	for (int i = 0; i < n; i++)
		printf("%s%lu", i ? "," : "", out[i]);
	printf("]}\n");
	free_ctx(c);
}

/* kdamond_merge_regions() over 1-3 targets */
static void case_merge(void)
{
	struct damon_ctx *c = new_ctx();
	int nt = (int)range(1, 3);
	unsigned int max_acc;
	unsigned int threshold;
	unsigned long sz_limit, unit = 4096;

	random_attrs(&c->attrs);
	c->attrs.max_nr_regions = range(3, 40);
	max_acc = damon_max_nr_accesses(&c->attrs);
	if (max_acc > 1000 && chance(70))
		max_acc = 1000;
	for (int i = 0; i < nt; i++) {
		struct damon_target *t = damon_new_target();

		fill_regions(t, (unsigned long)i << 40, (int)range(1, 20), unit, chance(50) ? 16 : 1000, max_acc,
			     chance(40), false);
		damon_add_target(c, t);
	}
	threshold = (unsigned int)(chance(20) ? 0 : below(max_acc / 4 + 2));
	sz_limit = chance(30) ? ULONG_MAX : unit * range(1, 4000);
	printf("{\"k\":\"merge\",\"attrs\":");
	print_attrs(&c->attrs);
	printf(",\"thres\":%u,\"szLimit\":%lu,\"targets\":", threshold, sz_limit);
	print_targets(c);
	kdamond_merge_regions(c, threshold, sz_limit);
	printf(",\"out\":");
	print_targets(c);
	printf("}\n");
	free_ctx(c);
}

/*
 * kdamond_split_regions() (whose static last_nr_regions carries from case to
 * case: replay in order) or damon_split_regions_of() with nr_subs 2..5.
 */
static void case_split(void)
{
	static int last_n;
	struct damon_ctx *c = new_ctx();
	int nt = (int)range(1, 2);
	bool direct = chance(40);
	int nr_subs = (int)range(2, 5);
	int n;

	random_attrs(&c->attrs);
	c->min_region_sz = min_region_sz_pick();
	c->attrs.max_nr_regions = range(3, 80);
	/* often the same region count as the last case, for the 3-piece rule */
	n = (last_n && chance(40)) ? last_n : (int)range(1, 16);
	for (int i = 0; i < nt; i++) {
		struct damon_target *t = damon_new_target();
		int ni = nt == 1 ? n : (i == 0 ? n / 2 + 1 : n - (n / 2 + 1));

		if (ni < 1)
			ni = 1;
		fill_regions(t, (unsigned long)i << 44, ni, c->min_region_sz, chance(30) ? 4 : 5000, 20, chance(30),
			     false);
		damon_add_target(c, t);
	}
	printf("{\"k\":\"split\",\"direct\":%s,\"nrSubs\":%d,\"minRegion\":%lu,\"maxNrRegions\":%lu,\"targets\":",
	       direct ? "true" : "false", nr_subs, c->min_region_sz, c->attrs.max_nr_regions);
	print_targets(c);
	rnd_begin();
	if (direct) {
		struct damon_target *t;

		damon_for_each_target(t, c)
			damon_split_regions_of(c, t, nr_subs, c->min_region_sz);
	} else {
		struct damon_target *t;

		kdamond_split_regions(c);
		last_n = 0;
		damon_for_each_target(t, c)
			last_n += damon_nr_regions(t);
	}
	print_rnd();
	printf(",\"out\":");
	print_targets(c);
	printf("}\n");
	free_ctx(c);
}

static void case_setregions(void)
{
	struct damon_target *t = damon_new_target();
	unsigned long msz = min_region_sz_pick();
	unsigned long unit = msz >= 4096 ? msz : 4096;
	struct damon_addr_range ranges[6];
	int nr = (int)range(0, 5);
	unsigned long a = unit * below(20);
	int rc;

	if (chance(85))
		fill_regions(t, unit * below(40), (int)range(0, 12), unit, 8, 20, chance(50), false);
	for (int i = 0; i < nr; i++) {
		/* unaligned edges sometimes; empty, overlapping or unsorted ranges sometimes */
		unsigned long s = a + (chance(70) ? 0 : below(unit)) + unit * below(6);
		unsigned long e = s + (chance(5) ? 0 : unit * range(0, 12) + (chance(70) ? 0 : below(unit)));

		if (chance(5) && i > 0)
			s = ranges[i - 1].start + below(unit * 2);
		ranges[i].start = s;
		ranges[i].end = e;
		a = e;
	}
	printf("{\"k\":\"setregions\",\"minRegion\":%lu,\"regions\":", msz);
	print_regions(t);
	printf(",\"ranges\":[");
	for (int i = 0; i < nr; i++)
		printf("%s[%lu,%lu]", i ? "," : "", ranges[i].start, ranges[i].end);
	printf("]");
	rc = damon_set_regions(t, ranges, nr, msz);
	printf(",\"out\":{\"rc\":%d,\"regions\":", rc);
	print_regions(t);
	printf("}}\n");
	free_target(t);
}

/* damon_apply_min_nr_regions(): the size limit and the splits that make min_nr_regions hold */
static void case_minnr(void)
{
	struct damon_ctx *c = new_ctx();
	int nt = (int)range(1, 3);
	unsigned long limit;

	c->min_region_sz = min_region_sz_pick();
	c->attrs.min_nr_regions = chance(10) ? 0 : range(3, 60);
	for (int i = 0; i < nt; i++) {
		struct damon_target *t = damon_new_target();

		fill_regions(t, (unsigned long)i << 40, (int)range(chance(10) ? 0 : 1, 8), c->min_region_sz,
			     chance(50) ? 64 : 100000, 20, chance(40), false);
		damon_add_target(c, t);
	}
	printf("{\"k\":\"minnr\",\"minRegion\":%lu,\"minNrRegions\":%lu,\"targets\":", c->min_region_sz,
	       c->attrs.min_nr_regions);
	print_targets(c);
	limit = damon_apply_min_nr_regions(c);
	printf(",\"out\":{\"limit\":%lu,\"targets\":", limit);
	print_targets(c);
	printf("}}\n");
	free_ctx(c);
}

/* damon_moving_sum() on random u32s */
static void case_mvsum(void)
{
	unsigned int mv = (unsigned int)gen64(), nomv = (unsigned int)gen64();
	unsigned int len = (unsigned int)(chance(50) ? range(1, 100) : range(1, UINT_MAX));
	unsigned int nv = chance(50) ? (unsigned int)below(2) * 10000 : (unsigned int)gen64();

	if (chance(50)) {
		mv %= 1000000;
		nomv %= 1000000;
	}
	printf("{\"k\":\"mvsum\",\"in\":[%u,%u,%u,%u],\"out\":%u}\n", mv, nomv, len, nv,
	       damon_moving_sum(mv, nomv, len, nv));
}

/*
 * A region's counters through a run of samples: each step is a sample
 * (damon_update_region_access_rate) or, at a window end, a reset
 * (kdamond_reset_aggregated).
 */
static void case_access(void)
{
	struct damon_ctx *c = new_ctx();
	struct damon_target *t = damon_new_target();
	struct damon_region *r;
	unsigned int max_nr, steps = (unsigned int)range(1, 120), since = 0;
	int p = (int)range(0, 100);

	random_attrs(&c->attrs);
	if (chance(50)) {
		c->attrs.sample_interval = range(1, 20) * 1000;
		c->attrs.aggr_interval = c->attrs.sample_interval * range(1, 25);
	}
	damon_add_target(c, t);
	r = damon_new_region(0, 4096);
	damon_add_region(r, t);
	max_nr = damon_max_nr_accesses(&c->attrs);
	if (chance(50)) {
		r->last_nr_accesses = (unsigned int)below((u64)max_nr + 1);
		r->nr_accesses_bp = r->last_nr_accesses * 10000;
	}
	printf("{\"k\":\"access\",\"attrs\":");
	print_attrs(&c->attrs);
	printf(",\"region\":[%u,%u],\"steps\":[", r->nr_accesses_bp, r->last_nr_accesses);
	for (unsigned int i = 0; i < steps; i++) {
		/* reset at the window end, sometimes early or late */
		bool reset = since + 1 >= max_nr ? chance(85) : chance(2);
		int kind = reset ? 2 : (int)chance(p);

		if (kind == 2) {
			kdamond_reset_aggregated(c);
			since = 0;
		} else {
			damon_update_region_access_rate(r, kind == 1, &c->attrs);
			since++;
		}
		printf("%s[%d,%u,%u,%u]", i ? "," : "", kind, r->nr_accesses, r->nr_accesses_bp, r->last_nr_accesses);
	}
	printf("],\"warnings\":%ld}\n", kdiff_warnings);
	kdiff_warnings = 0;
	free_ctx(c);
}

static struct damos *new_scheme(unsigned long apply_interval_us)
{
	struct damos_access_pattern pattern = {
		.min_sz_region = 0, .max_sz_region = ULONG_MAX,
		.min_nr_accesses = 0, .max_nr_accesses = UINT_MAX,
		.min_age_region = 0, .max_age_region = UINT_MAX,
	};
	struct damos_quota quota = {};
	struct damos_watermarks wmarks = { .metric = DAMOS_WMARK_NONE };

	return damon_new_scheme(&pattern, DAMOS_STAT, apply_interval_us, &quota, &wmarks, NUMA_NO_NODE);
}

/* damon_set_attrs(): validation, schedules, result conversion, next apply */
static void case_attrs(void)
{
	struct damon_ctx *c = new_ctx();
	struct damon_target *t = damon_new_target();
	struct damon_attrs a;
	int ns = (int)range(0, 3), rc;
	struct damos *s;
	unsigned int max_acc;

	random_attrs(&c->attrs);
	c->attrs.aggr_samples = c->attrs.aggr_interval / (c->attrs.sample_interval ? : 1);
	max_acc = damon_max_nr_accesses(&c->attrs);
	damon_add_target(c, t);
	fill_regions(t, 0, (int)range(1, 12), 4096, 100, max_acc, false, false);
	c->passed_sample_intervals = below(100000);
	c->next_aggregation_sis = c->passed_sample_intervals + (chance(50) ? 0 : range(1, 40));
	if (chance(10))
		c->next_aggregation_sis = c->passed_sample_intervals - range(1, 5);
	for (int i = 0; i < ns; i++)
		damon_add_scheme(c, new_scheme(chance(50) ? 0 : range(1, 10000000)));
	random_attrs(&a);
	if (chance(30))
		a.aggr_samples = 0;
	/* invalid ones sometimes */
	if (chance(5))
		a.min_nr_regions = range(0, 2);
	if (chance(5))
		a.max_nr_regions = a.min_nr_regions - 1;
	if (chance(5) && a.sample_interval)
		a.aggr_interval = a.sample_interval - 1;
	if (chance(30)) {
		a.intervals_goal.aggrs = range(1, 10);
		a.intervals_goal.access_bp = range(1, 10000);
		a.intervals_goal.min_sample_us = chance(90) ? range(0, a.sample_interval) : a.sample_interval + 1;
		a.intervals_goal.max_sample_us = chance(90) ? a.sample_interval + below(1000000) : a.sample_interval - 1;
	}
	printf("{\"k\":\"attrs\",\"attrs\":");
	print_attrs(&c->attrs);
	printf(",\"passed\":%lu,\"nextAggr\":%lu,\"nextOps\":%lu,\"schemes\":[", c->passed_sample_intervals,
	       c->next_aggregation_sis, c->next_ops_update_sis);
	{
		bool first = true;

		damon_for_each_scheme(s, c) {
			printf("%s[%lu,%lu]", first ? "" : ",", s->apply_interval_us, s->next_apply_sis);
			first = false;
		}
	}
	printf("],\"regions\":");
	print_regions(t);
	printf(",\"new\":");
	print_attrs(&a);
	rc = damon_set_attrs(c, &a);
	printf(",\"out\":{\"rc\":%d,\"attrs\":", rc);
	print_attrs(&c->attrs);
	printf(",\"nextAggr\":%lu,\"nextOps\":%lu,\"nextApply\":[", c->next_aggregation_sis, c->next_ops_update_sis);
	{
		bool first = true;

		damon_for_each_scheme(s, c) {
			printf("%s%lu", first ? "" : ",", s->next_apply_sis);
			first = false;
		}
	}
	printf("],\"regions\":");
	print_regions(t);
	printf("}}\n");
	free_ctx(c);
}

/* interval auto-tuning: the adaptation and kdamond_tune_intervals() */
static void case_tune(void)
{
	struct damon_ctx *c = new_ctx();
	int nt = (int)range(1, 2);
	unsigned long adapt, score;
	struct damon_attrs *a = &c->attrs;
	unsigned int max_acc;

	memset(a, 0, sizeof(*a));
	a->sample_interval = chance(70) ? range(1, 20) * 1000 : range(1, 10000000);
	a->aggr_samples = chance(70) ? 20 : range(1, 100);
	a->aggr_interval = a->sample_interval * a->aggr_samples;
	a->ops_update_interval = 60000000;
	a->min_nr_regions = 10;
	a->max_nr_regions = 1000;
	a->intervals_goal.access_bp = chance(50) ? 400 : range(1, 10000);
	a->intervals_goal.aggrs = range(1, 5);
	a->intervals_goal.min_sample_us = chance(70) ? 1000 : range(0, a->sample_interval);
	a->intervals_goal.max_sample_us = chance(70) ? 10000000 : range(a->sample_interval, 100000000);
	max_acc = damon_max_nr_accesses(a);
	for (int i = 0; i < nt; i++) {
		struct damon_target *t = damon_new_target();
		unsigned int acc_cap = chance(50) ? max_acc : (unsigned int)(max_acc / 10 + 1);

		fill_regions(t, (unsigned long)i << 45, (int)range(1, 15), 4096, chance(70) ? 64 : 1UL << 28, acc_cap,
			     chance(30), false);
		damon_add_target(c, t);
	}
	c->passed_sample_intervals = range(1, 1000000);
	c->next_aggregation_sis = c->passed_sample_intervals;
	printf("{\"k\":\"tune\",\"passed\":%lu,\"attrs\":", c->passed_sample_intervals);
	print_attrs(a);
	printf(",\"targets\":");
	print_targets(c);
	score = damon_get_intervals_score(c);
	adapt = damon_get_intervals_adaptation_bp(c);
	kdamond_tune_intervals(c);
	printf(",\"out\":{\"score\":\"%lu\",\"adapt\":%lu,\"attrs\":", score, adapt);
	print_attrs(a);
	printf(",\"nextAggr\":%lu,\"targets\":", c->next_aggregation_sis);
	print_targets(c);
	printf("}}\n");
	free_ctx(c);
}

static void case_feed(void)
{
	unsigned long last, score;

	switch (below(4)) {
	case 0:
		last = range(0, 1000000000);
		score = range(0, 30000);
		break;
	case 1:
		last = gen64() >> below(64);
		score = range(0, 20000);
		break;
	case 2:
		last = ULONG_MAX - below(1UL << 40);
		score = range(0, 20000);
		break;
	default:
		last = gen64();
		score = gen64() >> below(64);
		break;
	}
	printf("{\"k\":\"feed\",\"in\":[\"%lu\",\"%lu\"],\"out\":\"%lu\"}\n", last, score,
	       damon_feed_loop_next_input(last, score));
}

static void random_goals(struct damos *s)
{
	int ng = (int)range(0, 3);

	for (int i = 0; i < ng; i++) {
		int metric = (int)below(4);
		unsigned long target = chance(50) ? range(1, 20000) : range(1, 1UL << 40);
		struct damos_quota_goal *g = damos_new_quota_goal(metric, target);

		g->current_value = chance(50) ? range(0, 2 * target + 10) : gen64() >> range(11, 63);
		if (metric == DAMOS_QUOTA_SOME_MEM_PSI_US)
			g->last_psi_total = below(kdiff_psi_total_us + 1);
		else if (metric != DAMOS_QUOTA_USER_INPUT)
			g->nid = (int)range(0, 4) - (chance(10) ? 2 : 0);
		damos_add_quota_goal(&s->quota, g);
	}
}

static void print_goals(struct damos *s)
{
	struct damos_quota_goal *g;
	bool first = true;

	printf("[");
	damos_for_each_quota_goal(g, &s->quota) {
		printf("%s[%d,%lu,%lu,%lu,%d]", first ? "" : ",", g->metric, g->target_value, g->current_value,
		       g->metric == DAMOS_QUOTA_SOME_MEM_PSI_US ? (unsigned long)g->last_psi_total : 0UL,
		       g->metric >= DAMOS_QUOTA_NODE_MEM_USED_BP ? g->nid : 0);
		first = false;
	}
	printf("]");
}

static void random_system(void)
{
	kdiff_psi_total_us = below(1UL << 40);
	for (int n = 0; n < 4; n++) {
		kdiff_node_total[n] = chance(20) ? 0 : range(1, 1UL << 30);
		kdiff_node_free[n] = below(kdiff_node_total[n] + 1);
	}
}

static void print_system(void)
{
	printf("\"sys\":{\"psi\":%lu,\"nodes\":[", (unsigned long)kdiff_psi_total_us);
	for (int n = 0; n < 4; n++)
		printf("%s[%lu,%lu]", n ? "," : "", kdiff_node_total[n], kdiff_node_free[n]);
	printf("],\"jiffies\":%lu,\"free\":%lu,\"total\":%lu}", jiffies, kdiff_free_pages, kdiff_totalram_pages);
}

static void random_quota(struct damos *s)
{
	struct damos_quota *q = &s->quota;

	q->ms = chance(50) ? 0 : range(1, 1000);
	q->sz = chance(40) ? 0 : chance(50) ? range(1, 1UL << 32) : 4096 * range(1, 10000);
	q->reset_interval = chance(30) ? 0 : range(1, 2000);
	q->weight_sz = (unsigned int)below(1000);
	q->weight_nr_accesses = (unsigned int)below(1000);
	q->weight_age = (unsigned int)below(1000);
	if (chance(20))
		q->weight_nr_accesses = q->weight_age = 0;
	if (chance(70))
		random_goals(s);
	/* at most 1 TB/s of throughput, so the time quota stays in realistic sizes */
	q->total_charged_sz = chance(30) ? 0 : below(1UL << 44);
	q->total_charged_ns = chance(30) ? 0 : range(q->total_charged_sz / 1000 + 1, (1UL << 40) + q->total_charged_sz);
	q->esz_bp = chance(30) ? 0 : chance(80) ? below(1UL << 50) : gen64();
	q->esz = chance(30) ? 0 : below(1UL << 40);
}

static void print_quota(struct damos *s)
{
	struct damos_quota *q = &s->quota;

	printf("{\"ms\":%lu,\"sz\":%lu,\"reset\":%lu,\"w\":[%u,%u,%u],\"totalSz\":%lu,\"totalNs\":%lu,"
	       "\"eszBp\":\"%lu\",\"esz\":\"%lu\",\"chargedSz\":%lu,\"chargedFrom\":%lu,\"minScore\":%u,\"goals\":",
	       q->ms, q->sz, q->reset_interval, q->weight_sz, q->weight_nr_accesses, q->weight_age, q->total_charged_sz,
	       q->total_charged_ns, q->esz_bp, q->esz, q->charged_sz, q->charged_from, q->min_score);
	print_goals(s);
	printf("}");
}

/* damos_set_effective_quota() (the consist goal tuner, 7.2's default) */
static void case_esz(void)
{
	struct damon_ctx *c = new_ctx();
	struct damos *s = new_scheme(0);

	c->min_region_sz = min_region_sz_pick();
	random_system();
	random_quota(s);
	damon_add_scheme(c, s);
	printf("{\"k\":\"esz\",\"minRegion\":%lu,", c->min_region_sz);
	print_system();
	printf(",\"quota\":");
	print_quota(s);
	damos_set_effective_quota(c, s);
	printf(",\"out\":");
	print_quota(s);
	printf("}\n");
	free_ctx(c);
}

static void random_pattern(struct damos *s, unsigned int max_acc)
{
	struct damos_access_pattern *p = &s->pattern;

	if (chance(50)) {
		p->min_sz_region = 4096 * below(20);
		p->max_sz_region = chance(50) ? ULONG_MAX : p->min_sz_region + 4096 * below(200);
	}
	if (chance(50)) {
		p->min_nr_accesses = (unsigned int)below((u64)max_acc + 1);
		p->max_nr_accesses = chance(50) ? UINT_MAX : p->min_nr_accesses + (unsigned int)below((u64)max_acc + 1);
	}
	if (chance(50)) {
		p->min_age_region = (unsigned int)below(50);
		p->max_age_region = chance(50) ? UINT_MAX : p->min_age_region + (unsigned int)below(200);
	}
}

static void random_core_filters(struct damos *s, int nr_targets, unsigned long span)
{
	int nf = (int)(chance(50) ? 0 : range(1, 3));

	for (int i = 0; i < nf; i++) {
		int type = chance(70) ? DAMOS_FILTER_TYPE_ADDR : DAMOS_FILTER_TYPE_TARGET;
		struct damos_filter *f = damos_new_filter(type, chance(60), chance(50));

		if (type == DAMOS_FILTER_TYPE_ADDR) {
			f->addr_range.start = below(span);
			f->addr_range.end = f->addr_range.start + range(1, span);
		} else {
			f->target_idx = (int)below(nr_targets + 1);
		}
		damos_add_filter(s, f);
	}
	if (chance(30)) /* an ops filter: makes the core default "allow" */
		damos_add_filter(s, damos_new_filter(DAMOS_FILTER_TYPE_ANON, chance(50), chance(50)));
}

static void print_filters(struct damos *s)
{
	struct damos_filter *f;
	bool first = true;

	printf("[");
	damos_for_each_core_filter(f, s) {
		printf("%s[%d,%d,%d,%lu,%lu]", first ? "" : ",", f->type, f->matching, f->allow,
		       f->type == DAMOS_FILTER_TYPE_ADDR ? f->addr_range.start : (unsigned long)f->target_idx,
		       f->type == DAMOS_FILTER_TYPE_ADDR ? f->addr_range.end : 0UL);
		first = false;
	}
	damos_for_each_ops_filter(f, s) {
		printf("%s[%d,%d,%d,0,0]", first ? "" : ",", f->type, f->matching, f->allow);
		first = false;
	}
	printf("]");
}

static int score_hot(struct damon_ctx *c, struct damon_region *r, struct damos *s) { return damon_hot_score(c, r, s); }
static int score_cold(struct damon_ctx *c, struct damon_region *r, struct damos *s)
{
	return damon_cold_score(c, r, s);
}

/* damos_adjust_quota(): charge windows, effective quota, histogram, min_score */
static void case_adjust(void)
{
	struct damon_ctx *c = new_ctx();
	struct damos *s = new_scheme(0);
	struct damos_quota *q = &s->quota;
	int nt = (int)range(1, 2);
	bool hot = chance(50);
	unsigned int max_acc;

	random_attrs(&c->attrs);
	c->min_region_sz = 4096;
	max_acc = damon_max_nr_accesses(&c->attrs);
	if (max_acc > 200)
		max_acc = 200;
	c->ops.get_scheme_score = chance(90) ? (hot ? score_hot : score_cold) : NULL;
	for (int i = 0; i < nt; i++) {
		struct damon_target *t = damon_new_target();

		fill_regions(t, (unsigned long)i << 30, (int)range(1, 15), 4096, 64, max_acc, chance(30), chance(30));
		damon_add_target(c, t);
	}
	random_system();
	random_quota(s);
	if (chance(20)) {
		q->ms = q->sz = 0;
		if (chance(50))
			q->esz = 0;
	}
	random_pattern(s, max_acc);
	random_core_filters(s, nt, (unsigned long)nt << 30);
	damos_set_filters_default_reject(s);
	jiffies = range(0, 100000);
	q->charged_from = chance(20) ? 0 : jiffies - below(jiffies + 1);
	q->charged_sz = below(q->esz + 4096 * 4);
	damon_add_scheme(c, s);
	printf("{\"k\":\"adjust\",\"attrs\":");
	print_attrs(&c->attrs);
	printf(",\"score\":\"%s\",", c->ops.get_scheme_score ? (hot ? "hot" : "cold") : "none");
	print_system();
	printf(",\"pattern\":[%lu,%lu,%u,%u,%u,%u],\"filters\":", s->pattern.min_sz_region, s->pattern.max_sz_region,
	       s->pattern.min_nr_accesses, s->pattern.max_nr_accesses, s->pattern.min_age_region,
	       s->pattern.max_age_region);
	print_filters(s);
	printf(",\"quota\":");
	print_quota(s);
	printf(",\"targets\":");
	print_targets(c);
	damos_adjust_quota(c, s);
	printf(",\"out\":{\"quota\":");
	print_quota(s);
	printf(",\"qtExceeds\":%lu,\"targets\":", s->stat.qt_exceeds);
	print_targets(c);
	printf("}}\n");
	free_ctx(c);
}

static void case_score(void)
{
	struct damon_ctx *c = new_ctx();
	struct damos *s = new_scheme(0);
	struct damon_target *t = damon_new_target();
	struct damon_region *r = damon_new_region(0, 4096);
	unsigned int max_acc;

	random_attrs(&c->attrs);
	if (chance(20))
		c->attrs.aggr_interval = range(1, 1UL << 40);
	max_acc = damon_max_nr_accesses(&c->attrs);
	damon_add_target(c, t);
	damon_add_region(r, t);
	r->nr_accesses = (unsigned int)below((u64)max_acc + 1);
	r->nr_accesses_bp = chance(50) ? r->nr_accesses * 10000 : (unsigned int)below((u64)max_acc * 10000 + 1);
	r->age = chance(80) ? (unsigned int)below(10000) : (unsigned int)gen64();
	s->quota.weight_nr_accesses = (unsigned int)(chance(10) ? 0 : chance(10) ? gen64() : below(1001));
	s->quota.weight_age = (unsigned int)(chance(10) ? 0 : chance(10) ? gen64() : below(1001));
	damon_add_scheme(c, s);
	printf("{\"k\":\"score\",\"attrs\":");
	print_attrs(&c->attrs);
	printf(",\"region\":[%u,%u,%u],\"w\":[%u,%u],\"out\":[%d,%d]}\n", r->nr_accesses, r->nr_accesses_bp, r->age,
	       s->quota.weight_nr_accesses, s->quota.weight_age, damon_hot_score(c, r, s), damon_cold_score(c, r, s));
	free_ctx(c);
}

/* the watermarks state machine through a series of free memory rates */
static void case_wmark(void)
{
	struct damos *s = new_scheme(0);
	struct damos_watermarks *w = &s->wmarks;
	int steps = (int)range(1, 20);

	w->metric = chance(90) ? DAMOS_WMARK_FREE_MEM_RATE : DAMOS_WMARK_NONE;
	w->interval = range(0, 10000000);
	w->high = below(1001);
	w->mid = below(1001);
	w->low = below(1001);
	if (chance(70)) { /* ordered as users set them */
		unsigned long v[3] = { w->high, w->mid, w->low }, x;

		for (int i = 0; i < 3; i++)
			for (int j = i + 1; j < 3; j++)
				if (v[j] > v[i]) {
					x = v[i];
					v[i] = v[j];
					v[j] = x;
				}
		w->high = v[0];
		w->mid = v[1];
		w->low = v[2];
	}
	w->activated = chance(50);
	printf("{\"k\":\"wmark\",\"w\":[%d,%lu,%lu,%lu,%lu,%d],\"steps\":[", w->metric, w->interval, w->high, w->mid,
	       w->low, w->activated);
	for (int i = 0; i < steps; i++) {
		unsigned long wait;

		kdiff_totalram_pages = range(1, 1UL << 30);
		kdiff_free_pages = below(kdiff_totalram_pages + 1);
		wait = damos_wmark_wait_us(s);
		printf("%s[%lu,%lu,%lu,%d]", i ? "," : "", kdiff_free_pages, kdiff_totalram_pages, wait, w->activated);
	}
	printf("]}\n");
	kfree(s);
}

/* damos_core_filter_out() on one region of one of 1-3 targets */
static void case_filter(void)
{
	struct damon_ctx *c = new_ctx();
	struct damos *s = new_scheme(0);
	int nt = (int)range(1, 3), ti = (int)below(nt), i = 0;
	struct damon_target *t, *tsel = NULL;
	struct damon_region *r;
	bool out;
	int nth;

	c->min_region_sz = min_region_sz_pick();
	for (int k = 0; k < nt; k++) {
		struct damon_target *tk = damon_new_target();

		fill_regions(tk, 0, (int)range(1, 6), c->min_region_sz >= 4096 ? c->min_region_sz : 4096, 16, 10,
			     chance(30), false);
		damon_add_target(c, tk);
	}
	random_core_filters(s, nt, 4096 * 100);
	damos_set_filters_default_reject(s);
	damon_add_scheme(c, s);
	damon_for_each_target(t, c)
		if (i++ == ti)
			tsel = t;
	nth = (int)below(damon_nr_regions(tsel));
	i = 0;
	damon_for_each_region(r, tsel)
		if (i++ == nth)
			break;
	printf("{\"k\":\"filter\",\"minRegion\":%lu,\"filters\":", c->min_region_sz);
	print_filters(s);
	printf(",\"defaultReject\":[%d,%d],\"target\":%d,\"region\":%d,\"targets\":", s->core_filters_default_reject,
	       s->ops_filters_default_reject, ti, nth);
	print_targets(c);
	out = damos_core_filter_out(c, tsel, r, s);
	printf(",\"out\":{\"filterOut\":%d,\"allowed\":%d,\"targets\":", out, s->core_filters_allowed);
	print_targets(c);
	printf("}}\n");
	free_ctx(c);
}

/* ---- the apply pass ---- */
static unsigned long apply_stub(struct damon_ctx *c, struct damon_target *t, struct damon_region *r, struct damos *s,
				unsigned long *sz_filter_passed)
{
	unsigned long sz = damon_sz_region(r);
	/* a deterministic answer the TypeScript stub gives too */
	unsigned long k = (r->ar.start / 4096 + s->action) % 4;
	unsigned long applied = k == 0 ? 0 : k == 1 ? sz : k == 2 ? sz / 2 : sz + 4096;

	(void)c;
	(void)t;
	*sz_filter_passed = sz - sz / 4;
	kdiff_clock_ns += (s64)(sz / 4096) * 100 + 1000;
	return applied;
}
static int invalid_target_idx = -1;
static bool target_valid_stub(struct damon_target *t)
{
	struct damon_target *ti;
	int i = 0;

	/* targets carry their index in pid (never dereferenced) */
	(void)ti;
	i = (int)(long)t->pid;
	return i != invalid_target_idx;
}

static void print_scheme_state(struct damos *s)
{
	struct damos_quota *q = &s->quota;

	printf("{\"stat\":[%lu,%lu,%lu,%lu,%lu,%lu,%lu],\"quota\":", s->stat.nr_tried, s->stat.sz_tried,
	       s->stat.nr_applied, s->stat.sz_applied, s->stat.sz_ops_filter_passed, s->stat.qt_exceeds,
	       s->stat.nr_snapshots);
	print_quota(s);
	printf(",\"chargeTarget\":%ld,\"chargeAddr\":%lu,\"nextApply\":%lu}",
	       q->charge_target_from ? (long)q->charge_target_from->pid : -1L, q->charge_addr_from, s->next_apply_sis);
}

/*
 * Several kdamond_apply_schemes() passes over 1-2 targets and 1-3 schemes
 * with patterns, quotas (size, time, goals), core filters, scores and
 * apply intervals, against an ops stub; jiffies and the sample count move
 * on between passes.
 */
static void case_apply(void)
{
	struct damon_ctx *c = new_ctx();
	int nt = (int)range(1, 2), ns = (int)range(1, 3), passes = (int)range(1, 6);
	unsigned int max_acc;
	struct damos *s;
	struct damon_target *t;

	random_attrs(&c->attrs);
	c->attrs.sample_interval = 5000 * range(1, 4);
	c->attrs.aggr_interval = c->attrs.sample_interval * range(1, 30);
	c->attrs.aggr_samples = c->attrs.aggr_interval / c->attrs.sample_interval;
	c->attrs.min_nr_regions = range(3, 30);
	c->min_region_sz = 4096;
	max_acc = damon_max_nr_accesses(&c->attrs);
	c->ops.get_scheme_score = chance(85) ? score_cold : NULL;
	c->ops.apply_scheme = chance(95) ? apply_stub : NULL;
	c->ops.target_valid = chance(30) ? target_valid_stub : NULL;
	invalid_target_idx = chance(50) ? -1 : (int)below(nt);
	for (int i = 0; i < nt; i++) {
		t = damon_new_target();
		t->pid = (struct pid *)(long)i;
		fill_regions(t, (unsigned long)i << 32, (int)range(1, 20), 4096, 64, max_acc, chance(30), false);
		damon_add_target(c, t);
	}
	random_system();
	jiffies = range(0, 1000);
	kdiff_clock_ns = 0;
	c->passed_sample_intervals = range(0, 100);
	for (int i = 0; i < ns; i++) {
		s = new_scheme(chance(60) ? 0 : c->attrs.sample_interval * range(1, 40));
		/* any action but DAMOS_COLLAPSE (7.x; the model has 6.18's actions) */
		do
			s->action = (enum damos_action)below(NR_DAMOS_ACTIONS);
		while (s->action == DAMOS_COLLAPSE);
		random_quota(s);
		s->quota.esz = s->quota.esz_bp = 0;
		s->quota.total_charged_sz = s->quota.total_charged_ns = 0;
		if (chance(50))
			s->quota.sz = 4096 * range(1, 200);
		random_pattern(s, max_acc);
		random_core_filters(s, nt, (unsigned long)nt << 32);
		s->wmarks.activated = chance(90);
		damon_add_scheme(c, s);
		damos_set_filters_default_reject(s);
		s->next_apply_sis = c->passed_sample_intervals + below(3);
	}
	printf("{\"k\":\"apply\",\"attrs\":");
	print_attrs(&c->attrs);
	printf(",\"score\":%d,\"apply\":%d,\"invalid\":%d,", c->ops.get_scheme_score != NULL,
	       c->ops.apply_scheme != NULL, c->ops.target_valid ? invalid_target_idx : -1);
	print_system();
	printf(",\"passed\":%lu,\"schemes\":[", c->passed_sample_intervals);
	{
		bool first = true;

		damon_for_each_scheme(s, c) {
			printf("%s{\"action\":%d,\"applyUs\":%lu,\"nextApply\":%lu,\"active\":%d,"
			       "\"pattern\":[%lu,%lu,%u,%u,%u,%u],\"filters\":",
			       first ? "" : ",", s->action, s->apply_interval_us, s->next_apply_sis, s->wmarks.activated,
			       s->pattern.min_sz_region, s->pattern.max_sz_region, s->pattern.min_nr_accesses,
			       s->pattern.max_nr_accesses, s->pattern.min_age_region, s->pattern.max_age_region);
			print_filters(s);
			printf(",\"quota\":");
			print_quota(s);
			printf("}");
			first = false;
		}
	}
	printf("],\"targets\":");
	print_targets(c);
	printf(",\"passes\":[");
	for (int p = 0; p < passes; p++) {
		bool first = true;

		if (p) {
			c->passed_sample_intervals += range(0, 3);
			jiffies += range(0, 1500);
		}
		kdamond_apply_schemes(c);
		printf("%s{\"passed\":%lu,\"jiffies\":%lu,\"clock\":%ld,\"schemes\":[", p ? "," : "",
		       c->passed_sample_intervals, jiffies, (long)kdiff_clock_ns);
		damon_for_each_scheme(s, c) {
			printf("%s", first ? "" : ",");
			print_scheme_state(s);
			first = false;
		}
		printf("],\"targets\":");
		print_targets(c);
		printf("}");
	}
	printf("]}\n");
	free_ctx(c);
}

int main(int argc, char **argv)
{
	static const struct {
		const char *name;
		void (*fn)(void);
	} kinds[] = {
		{ "rand", case_rand },     { "merge", case_merge },   { "split", case_split },
		{ "setregions", case_setregions }, { "mvsum", case_mvsum }, { "access", case_access },
		{ "attrs", case_attrs },   { "tune", case_tune },     { "feed", case_feed },
		{ "esz", case_esz },       { "adjust", case_adjust }, { "score", case_score },
		{ "wmark", case_wmark },   { "filter", case_filter }, { "apply", case_apply },
		{ "minnr", case_minnr },
	};
	void (*fn)(void) = NULL;
	long count;

	if (argc != 4) {
		fprintf(stderr, "usage: kdiff <kind> <seed> <count>\n");
		return 2;
	}
	for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++)
		if (!strcmp(kinds[i].name, argv[1]))
			fn = kinds[i].fn;
	if (!fn) {
		fprintf(stderr, "kdiff: unknown kind %s\n", argv[1]);
		return 2;
	}
	gen_state = strtoull(argv[2], NULL, 0) * 0x100000001b3ULL + 17;
	count = strtol(argv[3], NULL, 0);
	for (long i = 0; i < count; i++) {
		fn();
		if (kdiff_allocs != 0) {
			fprintf(stderr, "kdiff: %s case %ld leaked %ld objects\n", argv[1], i, kdiff_allocs);
			return 1;
		}
		if (kdiff_warnings != 0 && strcmp(argv[1], "access")) {
			fprintf(stderr, "kdiff: %s case %ld fired %ld warnings\n", argv[1], i, kdiff_warnings);
			return 1;
		}
	}
	return 0;
}
