/**
 * DOC: DAMON's sysfs admin tree, /sys/kernel/mm/damon/admin/
 * (mm/damon/sysfs.c), as an in-memory file tree read and written as
 * strings.
 *
 * Every directory and file of the kernel's layout is here with its default
 * value and the kernel's parsing: a store the kernel rejects returns the
 * same negative errno and changes nothing. Writing the kdamond's `state`
 * file runs the kernel's commands: `on` builds a context from the files and
 * starts a kdamond, `commit` validates the files against a scratch context
 * and commits them to the running one through damon_call(), the update
 * commands copy stats, tuned intervals, effective quotas or tried regions
 * back into files. Commands that wait for the kdamond in the kernel run the
 * machine here until it has answered.
 *
 * ```
 * const fs = new DamonSysfs(damon);
 * fs.write('kdamonds/nr_kdamonds', '1');
 * fs.write('kdamonds/0/contexts/nr_contexts', '1');
 * fs.write('kdamonds/0/contexts/0/targets/nr_targets', '1');
 * fs.write('kdamonds/0/contexts/0/targets/0/pid_target', `${pid}`);
 * fs.write('kdamonds/0/state', 'on');
 * ```
 */
import { MmError, errnoName as machineErrnoName } from '@mm/machine';
import { damonSetAttrs } from '../core/attrs.js';
import { damonAddScheme, damonCommitCtx, damosCommitQuotaGoals } from '../core/commit.js';
import {
  DAMON_OPS_NAMES,
  DAMON_OPS_PADDR,
  DAMON_OPS_VADDR,
  type Damon,
  type DamonCallControl,
  type DamonCtx,
  damonDefaultAttrs,
  damonIsRegisteredOps,
  damonNewCtx,
  damonSelectOps,
  damonTargetHasPid,
} from '../core/ctx.js';
import { damonCall, damonIsRunning, damonKdamondPid, damonStart, damonStop, damosWalk } from '../core/kdamond.js';
import { type DamonAddrRange, DamonTarget, damonSetRegions } from '../core/region.js';
import type { DamosQuotaGoal } from '../core/scheme.js';
import { EACCES, EINVAL, kstrtobool, kstrtoint, kstrtouint, sysfsStreq } from './kstrto.js';
import {
  intAttr,
  nrDirAttr,
  type SysfsAttr,
  type SysfsNode,
  type SysfsScheme,
  schemeNode,
  sysfsAddQuotaScore,
  sysfsMkScheme,
  sysfsPopulateRegionDir,
  sysfsSchemeAlloc,
  sysfsSchemesClearRegions,
  sysfsSchemesUpdateStats,
  sysfsUpdateEffectiveQuotas,
  type UlRange,
  ulAttr,
  ulRangeNode,
} from './sysfs-schemes.js';

const EBUSY = 16;

/** The sysfs commands, in the kernel's order. @kernel damon_sysfs_cmd_strs (mm/damon/sysfs.c) */
export const DAMON_SYSFS_CMDS: readonly string[] = [
  'on',
  'off',
  'commit',
  'commit_schemes_quota_goals',
  'update_schemes_stats',
  'update_schemes_tried_bytes',
  'update_schemes_tried_regions',
  'clear_schemes_tried_regions',
  'update_schemes_effective_quotas',
  'update_tuned_intervals',
];

/** A `targets/<T>` directory: one monitoring target. @kernel struct damon_sysfs_target (mm/damon/sysfs.c) */
export interface SysfsTarget {
  /** Pid of the process whose address space is monitored; only the virtual-address operations read it. Mirrors the `pid_target` file. */
  pid: number;
  /** Set ('Y') to have the next `commit` remove this target from the running context instead of updating it; mirrors the `obsolete_target` file. */
  obsolete: boolean;
  /** The `regions` directory: initial monitoring regions. */
  regions: DamonAddrRange[];
}

/** A `contexts/<C>` directory: one monitoring context's parameters. @kernel struct damon_sysfs_context (mm/damon/sysfs.c) */
export interface SysfsContext {
  /** `operations`: the `DAMON_OPS_*` id. */
  opsId: number;
  /** The `monitoring_attrs` directory. */
  attrs: {
    /** The `intervals` directory. */
    intervals: {
      /** Sampling interval in µs: how often each region is checked for an access; mirrors the `sample_us` file (`damon_attrs::sample_interval`). */
      sampleUs: number;
      /** Aggregation interval in µs: access counts are summed over it, then reset; mirrors the `aggr_us` file (`damon_attrs::aggr_interval`). */
      aggrUs: number;
      /** Interval in µs at which the operations set refreshes the monitoring regions (e.g. after VMA changes); mirrors the `update_us` file (`damon_attrs::ops_update_interval`). */
      updateUs: number;
      /** The `intervals_goal` directory (auto-tuning). */
      goal: {
        /** `access_bp`: target ratio of observed to possible access events (bp). */
        accessBp: number;
        /** `aggrs`: tune every this many aggregations (0: off). */
        aggrs: number;
        /** `min_sample_us`: lower bound of the tuned sampling interval. */
        minSampleUs: number;
        /** `max_sample_us`: upper bound of the tuned sampling interval. */
        maxSampleUs: number;
      };
    };
    /** The `nr_regions` directory: `min` and `max`. */
    nrRegions: UlRange;
  };
  /** The `targets` directory. */
  targets: SysfsTarget[];
  /** The `schemes` directory. */
  schemes: SysfsScheme[];
}

/** A `kdamonds/<K>` directory: one kdamond and its contexts. @kernel struct damon_sysfs_kdamond (mm/damon/sysfs.c) */
export interface SysfsKdamond {
  /** The `contexts` directory. */
  contexts: SysfsContext[];
  /** `refresh_ms`: update the stats files this often (0: never). */
  refreshMs: number;
  /** The context built by the last `on` (kept after `off` so results stay readable). */
  damonCtx: DamonCtx | null;
  /** @internal */
  repeatCall: DamonCallControl | null;
}

function contextAlloc(): SysfsContext {
  const d = damonDefaultAttrs();
  return {
    opsId: DAMON_OPS_VADDR,
    attrs: {
      intervals: {
        sampleUs: d.sampleInterval,
        aggrUs: d.aggrInterval,
        updateUs: d.opsUpdateInterval,
        goal: { accessBp: 0, aggrs: 0, minSampleUs: 0, maxSampleUs: 0 },
      },
      nrRegions: { min: d.minNrRegions, max: d.maxNrRegions },
    },
    targets: [],
    schemes: [],
  };
}

/** Options of {@link DamonSysfs}. */
export interface DamonSysfsOptions {
  /** Resolve a pid (find_get_pid); default: the registered vaddr ops' targetValid. */
  readonly pidExists?: (pid: number) => boolean;
  /** Resolve a memcg path to its id, or a negative errno (default: -EINVAL). */
  readonly memcgPathToId?: (path: string) => number;
}

/** The admin root the paths are relative to. */
export const DAMON_SYSFS_ROOT = '/sys/kernel/mm/damon/admin';

/**
 * DAMON's sysfs admin tree over a {@link Damon} (see the file header).
 */
export class DamonSysfs {
  /** The DAMON subsystem the tree administers. */
  readonly damon: Damon;
  /** The `kdamonds` directory. */
  readonly kdamonds: SysfsKdamond[];
  private locked: boolean;
  private readonly opts: DamonSysfsOptions;

  constructor(damon: Damon, opts: DamonSysfsOptions = {}) {
    this.damon = damon;
    this.kdamonds = [];
    this.locked = false;
    this.opts = opts;
  }

  private busy = (): boolean => this.locked;

  private anyRunning(): boolean {
    return this.kdamonds.some((k) => k.damonCtx !== null && damonIsRunning(k.damonCtx));
  }

  /** The root directory node. */
  root(): SysfsNode {
    return {
      files: {},
      dirs: () => ({
        kdamonds: {
          files: {
            nr_kdamonds: {
              show: () => `${this.kdamonds.length}\n`,
              store: (buf) => {
                const r = kstrtoint(buf);
                if (r.err) return r.err;
                if (r.value < 0) return -EINVAL;
                if (this.locked) return -EBUSY;
                if (this.anyRunning()) return -EBUSY;
                this.kdamonds.length = 0;
                for (let i = 0; i < r.value; i++) {
                  this.kdamonds.push({ contexts: [], refreshMs: 0, damonCtx: null, repeatCall: null });
                }
                return buf.length;
              },
            },
          },
          dirs: () => Object.fromEntries(this.kdamonds.map((k, i) => [`${i}`, this.kdamondNode(k)])),
        },
      }),
    };
  }

  private kdamondNode(k: SysfsKdamond): SysfsNode {
    return {
      files: {
        state: {
          show: () => {
            if (this.locked) throw new MmError('EBUSY', 'damon sysfs: state: lock held');
            return k.damonCtx !== null && damonIsRunning(k.damonCtx) ? 'on\n' : 'off\n';
          },
          store: (buf) => this.stateStore(k, buf),
        },
        pid: intAttr(() => {
          const ctx = k.damonCtx;
          if (ctx === null) return -1;
          const pid = damonKdamondPid(ctx);
          return pid < 0 ? -1 : pid;
        }),
        refresh_ms: {
          show: () => `${k.refreshMs}\n`,
          store: (buf) => {
            const r = kstrtouint(buf);
            if (r.err) return r.err;
            k.refreshMs = r.value;
            return buf.length;
          },
        },
      },
      dirs: () => ({
        contexts: {
          files: {
            nr_contexts: {
              show: () => `${k.contexts.length}\n`,
              store: (buf) => {
                const r = kstrtoint(buf);
                if (r.err) return r.err;
                // The kernel supports one context per kdamond for now.
                if (r.value < 0 || r.value > 1) return -EINVAL;
                if (this.locked) return -EBUSY;
                k.contexts.length = 0;
                for (let i = 0; i < r.value; i++) k.contexts.push(contextAlloc());
                return buf.length;
              },
            },
          },
          dirs: () => Object.fromEntries(k.contexts.map((c, i) => [`${i}`, this.contextNode(c)])),
        },
      }),
    };
  }

  private contextNode(c: SysfsContext): SysfsNode {
    const iv = c.attrs.intervals;
    const g = iv.goal;
    return {
      files: {
        avail_operations: {
          show: () =>
            DAMON_OPS_NAMES.filter((_, id) => damonIsRegisteredOps(this.damon, id))
              .map((n) => `${n}\n`)
              .join(''),
        },
        operations: {
          show: () => `${DAMON_OPS_NAMES[c.opsId]}\n`,
          store: (buf) => {
            const id = DAMON_OPS_NAMES.findIndex((n) => sysfsStreq(buf, n));
            if (id < 0) return -EINVAL;
            c.opsId = id;
            return buf.length;
          },
        },
      },
      dirs: () => ({
        monitoring_attrs: {
          files: {},
          dirs: () => ({
            intervals: {
              files: {
                sample_us: ulAttr(
                  () => iv.sampleUs,
                  (v) => (iv.sampleUs = v),
                ),
                aggr_us: ulAttr(
                  () => iv.aggrUs,
                  (v) => (iv.aggrUs = v),
                ),
                update_us: ulAttr(
                  () => iv.updateUs,
                  (v) => (iv.updateUs = v),
                ),
              },
              dirs: () => ({
                intervals_goal: {
                  files: {
                    access_bp: ulAttr(
                      () => g.accessBp,
                      (v) => (g.accessBp = v),
                    ),
                    aggrs: ulAttr(
                      () => g.aggrs,
                      (v) => (g.aggrs = v),
                    ),
                    min_sample_us: ulAttr(
                      () => g.minSampleUs,
                      (v) => (g.minSampleUs = v),
                    ),
                    max_sample_us: ulAttr(
                      () => g.maxSampleUs,
                      (v) => (g.maxSampleUs = v),
                    ),
                  },
                  dirs: () => ({}),
                },
              }),
            },
            nr_regions: ulRangeNode(c.attrs.nrRegions),
          }),
        },
        targets: {
          files: {
            nr_targets: nrDirAttr(c.targets, () => ({ pid: 0, obsolete: false, regions: [] }), this.busy),
          },
          dirs: () => Object.fromEntries(c.targets.map((t, i) => [`${i}`, this.targetNode(t)])),
        },
        schemes: {
          files: { nr_schemes: nrDirAttr(c.schemes, sysfsSchemeAlloc, this.busy) },
          dirs: () => Object.fromEntries(c.schemes.map((s, i) => [`${i}`, schemeNode(s, this.busy)])),
        },
      }),
    };
  }

  private targetNode(t: SysfsTarget): SysfsNode {
    return {
      files: {
        pid_target: intAttr(
          () => t.pid,
          (v) => (t.pid = v),
        ),
        obsolete_target: {
          show: () => (t.obsolete ? 'Y\n' : 'N\n'),
          store: (buf) => {
            const r = kstrtobool(buf);
            if (r.err) return r.err;
            t.obsolete = r.value === 1;
            return buf.length;
          },
        },
      },
      dirs: () => ({
        regions: {
          files: { nr_regions: nrDirAttr(t.regions, () => ({ start: 0, end: 0 }), this.busy) },
          dirs: () =>
            Object.fromEntries(
              t.regions.map((r, i) => [
                `${i}`,
                {
                  files: {
                    start: ulAttr(
                      () => r.start,
                      (v) => (r.start = v),
                    ),
                    end: ulAttr(
                      () => r.end,
                      (v) => (r.end = v),
                    ),
                  },
                  dirs: () => ({}),
                },
              ]),
            ),
        },
      }),
    };
  }

  private resolve(path: string): { node: SysfsNode; file: string | null } | null {
    let p = path.startsWith(DAMON_SYSFS_ROOT) ? path.slice(DAMON_SYSFS_ROOT.length) : path;
    p = p.replace(/^\/+|\/+$/g, '');
    const parts = p === '' ? [] : p.split('/');
    let node = this.root();
    for (let i = 0; i < parts.length; i++) {
      const part = parts[i]!;
      const sub = node.dirs()[part];
      if (sub !== undefined) {
        node = sub;
        continue;
      }
      if (i === parts.length - 1 && part in node.files) return { node, file: part };
      return null;
    }
    return { node, file: null };
  }

  /**
   * Read a file (path relative to the admin root or absolute).
   * @throws MmError ENOENT for a missing file, EISDIR for a directory.
   */
  read(path: string): string {
    const r = this.resolve(path);
    if (r === null) throw new MmError('ENOENT', `damon sysfs: ${path}: no such file or directory`);
    if (r.file === null) throw new MmError('EISDIR', `damon sysfs: ${path}: is a directory`);
    return r.node.files[r.file]!.show();
  }

  /**
   * Write `value` to a file as `echo value > path` does (a newline is
   * appended unless present). Returns the bytes written or a negative errno;
   * a missing path gives -ENOENT (-2).
   */
  write(path: string, value: string): number {
    const r = this.resolve(path);
    if (r === null || r.file === null) return -2;
    const attr: SysfsAttr = r.node.files[r.file]!;
    if (attr.store === undefined) return -EACCES;
    const buf = value.endsWith('\n') ? value : `${value}\n`;
    return attr.store(buf);
  }

  /** Like {@link DamonSysfs.write} but throws an MmError named after the errno. */
  writeOrThrow(path: string, value: string): void {
    const n = this.write(path, value);
    if (n < 0) throw new MmError(errnoName(-n), `damon sysfs: write '${value.trim()}' to ${path}: ${errnoName(-n)}`);
  }

  /** The entries of a directory (files and subdirectories, sorted). */
  ls(path = ''): string[] {
    const r = this.resolve(path);
    if (r === null || r.file !== null) throw new MmError('ENOTDIR', `damon sysfs: ${path}: not a directory`);
    return [...Object.keys(r.node.files), ...Object.keys(r.node.dirs())].sort();
  }

  /** Every file path under `path` with its content (like `grep -r . path`). */
  dump(path = ''): Record<string, string> {
    const out: Record<string, string> = {};
    const walk = (node: SysfsNode, prefix: string): void => {
      for (const [name, a] of Object.entries(node.files)) {
        try {
          out[`${prefix}${name}`] = a.show().trimEnd();
        } catch {
          out[`${prefix}${name}`] = '<EBUSY>';
        }
      }
      for (const [name, d] of Object.entries(node.dirs())) walk(d, `${prefix}${name}/`);
    };
    const r = this.resolve(path);
    if (r === null || r.file !== null) throw new MmError('ENOTDIR', `damon sysfs: ${path}: not a directory`);
    walk(r.node, path === '' ? '' : `${path.replace(/\/+$/, '')}/`);
    return out;
  }

  /** @kernel state_store (mm/damon/sysfs.c) */
  private stateStore(k: SysfsKdamond, buf: string): number {
    if (this.locked) return -EBUSY;
    const cmd = DAMON_SYSFS_CMDS.findIndex((c) => sysfsStreq(buf, c));
    if (cmd < 0) return -EINVAL;
    this.locked = true;
    let ret: number;
    try {
      ret = this.handleCmd(cmd, k);
    } finally {
      this.locked = false;
    }
    return ret === 0 ? buf.length : ret;
  }

  /** @kernel damon_sysfs_handle_cmd (mm/damon/sysfs.c) */
  private handleCmd(cmd: number, k: SysfsKdamond): number {
    if (DAMON_SYSFS_CMDS[cmd] !== 'off' && k.contexts.length !== 1) return -EINVAL;
    switch (DAMON_SYSFS_CMDS[cmd]) {
      case 'on':
        return this.turnOn(k);
      case 'off':
        if (k.damonCtx === null) return -EINVAL;
        return damonStop(this.damon, [k.damonCtx]);
      case 'commit':
        return this.damonCall(k, () => this.commitInput(k));
      case 'commit_schemes_quota_goals':
        return this.damonCall(k, () => this.commitQuotaGoals(k));
      case 'update_schemes_stats':
        return this.damonCall(k, () => {
          sysfsSchemesUpdateStats(k.contexts[0]!.schemes, k.damonCtx!);
          return 0;
        });
      case 'update_schemes_tried_bytes':
        return this.updateTriedRegions(k, true);
      case 'update_schemes_tried_regions':
        return this.updateTriedRegions(k, false);
      case 'clear_schemes_tried_regions':
        return sysfsSchemesClearRegions(k.contexts[0]!.schemes);
      case 'update_schemes_effective_quotas':
        return this.damonCall(k, () => {
          sysfsUpdateEffectiveQuotas(k.contexts[0]!.schemes, k.damonCtx!);
          return 0;
        });
      case 'update_tuned_intervals':
        return this.damonCall(k, () => this.updTunedIntervals(k));
      default:
        return -EINVAL;
    }
  }

  private updTunedIntervals(k: SysfsKdamond): number {
    const iv = k.contexts[0]!.attrs.intervals;
    iv.sampleUs = k.damonCtx!.attrs.sampleInterval;
    iv.aggrUs = k.damonCtx!.attrs.aggrInterval;
    return 0;
  }

  /** @kernel damon_sysfs_damon_call (mm/damon/sysfs.c) */
  private damonCall(k: SysfsKdamond, fn: () => number): number {
    const ctx = k.damonCtx;
    if (ctx === null) return -EINVAL;
    const control: DamonCallControl = { fn, returnCode: 0, completed: false, canceled: false };
    const err = damonCall(ctx, fn, control);
    return err ? err : control.returnCode;
  }

  private memcgId = (path: string): number => (this.opts.memcgPathToId ?? (() => -EINVAL))(path);

  private pidExists(pid: number, ctx: DamonCtx): boolean {
    if (this.opts.pidExists !== undefined) return this.opts.pidExists(pid);
    const valid = ctx.ops.targetValid;
    return valid === undefined ? true : valid.call(ctx.ops, new DamonTarget(pid));
  }

  /**
   * Build a context from a context directory; a negative errno for bad input.
   * @kernel damon_sysfs_build_ctx (mm/damon/sysfs.c)
   */
  buildCtx(sc: SysfsContext): DamonCtx | number {
    const ctx = damonNewCtx(this.damon.machine.prng.stream('damon'));
    let err = damonSelectOps(this.damon, ctx, sc.opsId);
    if (err) return err;
    ctx.minRegion = this.damon.machine.config.pageSize;
    const iv = sc.attrs.intervals;
    err = damonSetAttrs(ctx, {
      sampleInterval: iv.sampleUs,
      aggrInterval: iv.aggrUs,
      opsUpdateInterval: iv.updateUs,
      intervalsGoal: { ...iv.goal },
      minNrRegions: sc.attrs.nrRegions.min,
      maxNrRegions: sc.attrs.nrRegions.max,
      aggrSamples: 0,
    });
    if (err) return err;
    // Multiple physical address space monitoring targets make no sense.
    if (ctx.ops.id === DAMON_OPS_PADDR && sc.targets.length > 1) return -EINVAL;
    for (const st of sc.targets) {
      const t = new DamonTarget(damonTargetHasPid(ctx) ? st.pid : null);
      ctx.adaptiveTargets.push(t);
      if (damonTargetHasPid(ctx) && !this.pidExists(st.pid, ctx)) return -EINVAL;
      t.obsolete = st.obsolete;
      // damon_sysfs_set_regions(): start ≤ end, sorted, non-overlapping.
      for (let i = 0; i < st.regions.length; i++) {
        const r = st.regions[i]!;
        if (r.start > r.end) return -EINVAL;
        if (i > 0 && st.regions[i - 1]!.end > r.start) return -EINVAL;
      }
      err = damonSetRegions(t, st.regions, ctx.minRegion);
      if (err) return err;
    }
    for (const ss of sc.schemes) {
      const s = sysfsMkScheme(ss, this.memcgId);
      if (typeof s === 'number') return s;
      damonAddScheme(ctx, s);
    }
    return ctx;
  }

  /** @kernel damon_sysfs_turn_damon_on (mm/damon/sysfs.c) */
  private turnOn(k: SysfsKdamond): number {
    if (k.damonCtx !== null && damonIsRunning(k.damonCtx)) return -EBUSY;
    k.damonCtx = null;
    const ctx = this.buildCtx(k.contexts[0]!);
    if (typeof ctx === 'number') return ctx;
    const err = damonStart(this.damon, [ctx], false);
    if (err) return err;
    k.damonCtx = ctx;
    // The refresh_ms repeat call: refresh tuned intervals, stats and quotas.
    let next = this.damon.machine.clock.now + k.refreshMs * 1e6;
    const control: DamonCallControl = {
      repeat: true,
      returnCode: 0,
      completed: false,
      canceled: false,
      fn: () => {
        if (!k.refreshMs) return 0;
        const now = this.damon.machine.clock.now;
        if (now < next) return 0;
        next = now + k.refreshMs * 1e6;
        if (this.locked || k.contexts.length !== 1) return 0;
        this.updTunedIntervals(k);
        sysfsSchemesUpdateStats(k.contexts[0]!.schemes, ctx);
        sysfsUpdateEffectiveQuotas(k.contexts[0]!.schemes, ctx);
        return 0;
      },
    };
    k.repeatCall = control;
    damonCall(ctx, control.fn, control);
    return 0;
  }

  /** @kernel damon_sysfs_commit_input (mm/damon/sysfs.c) */
  private commitInput(k: SysfsKdamond): number {
    const running = k.damonCtx;
    if (running === null || !damonIsRunning(running)) return -EINVAL;
    const param = this.buildCtx(k.contexts[0]!);
    if (typeof param === 'number') return param;
    // Validate against a scratch copy of the running context first.
    const test = damonNewCtx();
    let err = damonCommitCtx(test, running);
    if (err) return err;
    err = damonCommitCtx(test, param);
    if (err) return err;
    return damonCommitCtx(running, param);
  }

  /** @kernel damos_sysfs_set_quota_scores (mm/damon/sysfs-schemes.c) */
  private commitQuotaGoals(k: SysfsKdamond): number {
    const ctx = k.damonCtx;
    if (ctx === null || !damonIsRunning(ctx)) return -EINVAL;
    const schemes = k.contexts[0]!.schemes;
    for (let i = 0; i < ctx.schemes.length && i < schemes.length; i++) {
      const quota: { goals: DamosQuotaGoal[] } = { goals: [] };
      sysfsAddQuotaScore(schemes[i]!.quotas.goals, quota);
      damosCommitQuotaGoals(ctx.schemes[i]!.quota, quota);
    }
    return 0;
  }

  /** @kernel damon_sysfs_update_schemes_tried_regions (mm/damon/sysfs.c) */
  private updateTriedRegions(k: SysfsKdamond, totalBytesOnly: boolean): number {
    const ctx = k.damonCtx;
    if (ctx === null) return -EINVAL;
    const schemes = k.contexts[0]!.schemes;
    sysfsSchemesClearRegions(schemes);
    return damosWalk(ctx, (c, t, r, s, szFilterPassed) =>
      sysfsPopulateRegionDir(schemes, c, t, r, s, totalBytesOnly, szFilterPassed),
    );
  }
}

function errnoName(n: number): string {
  return n === EACCES ? 'EACCES' : machineErrnoName(n);
}
