/**
 * DOC: damo's number, size and time formatting (`_damo_fmt_str.py`), so
 * reports print the exact strings damo prints: Python's `%.3f` rounding
 * (correctly rounded, ties to even), `%d` of a float truncating toward
 * zero, thousands commas, binary size units with `>` thresholds, and the
 * `h`/`m`/`s`/`ms`/`us`/`ns` time forms.
 */

/** `'%d' % x` for a number (floats truncate toward zero). */
export function pyD(x: number): string {
  const t = Math.trunc(x);
  if (Object.is(t, -0)) return '0';
  // Exact integers print without an exponent below 1e21; beyond 2^53 go through BigInt.
  return Math.abs(t) <= Number.MAX_SAFE_INTEGER ? `${t}` : BigInt(t).toString();
}

/**
 * `'%.{digits}f' % x` as Python prints it: the exact binary value rounded to
 * `digits` decimals, an exact tie going to the even digit.
 */
export function pyFixed(x: number, digits: number): string {
  const s = x.toFixed(digits);
  const scaled = x * 10 ** digits * 2;
  // An exact tie (…5 exactly): toFixed rounded up; Python rounds to even.
  if (Number.isFinite(scaled) && Math.abs(scaled) < 2 ** 52 && Number.isInteger(scaled) && Math.abs(scaled) % 2 === 1) {
    const down = (Math.abs(x * 10 ** digits) - 0.5) * Math.sign(x);
    if (Math.abs(Math.trunc(down)) % 2 === 0) {
      const v = Math.trunc(down) / 10 ** digits;
      return v.toFixed(digits);
    }
  }
  return s;
}

/** An integer with thousands separators (`4,096`), or plain digits when `machineFriendly`. @kernel format_nr (damo _damo_fmt_str.py) */
export function formatNr(nr: number, machineFriendly: boolean): string {
  const raw = pyD(nr);
  if (machineFriendly) return raw;
  const neg = raw.startsWith('-');
  const digits = neg ? raw.slice(1) : raw;
  const fields: string[] = [];
  for (let i = 0; i < digits.length; i += 3) {
    const start = Math.max(0, digits.length - i - 3);
    fields.unshift(digits.slice(start, digits.length - i));
  }
  // Python slices the sign into the first field the same way.
  return (neg ? '-' : '') + fields.join(',');
}

const ULONG_MAX = 2 ** 64 - 1;

/** A byte count in the largest binary unit below it (`1.500 GiB`), or plain bytes when `machineFriendly`. @kernel format_sz (damo _damo_fmt_str.py) */
export function formatSz(szBytes: number, machineFriendly: boolean): string {
  if (machineFriendly) return pyD(szBytes);
  const sz = szBytes;
  if (sz === ULONG_MAX) return 'max';
  if (sz > 2 ** 60) return `${pyFixed(sz / 2 ** 60, 3)} EiB`;
  if (sz > 2 ** 50) return `${pyFixed(sz / 2 ** 50, 3)} PiB`;
  if (sz > 2 ** 40) return `${pyFixed(sz / 2 ** 40, 3)} TiB`;
  if (sz > 2 ** 30) return `${pyFixed(sz / 2 ** 30, 3)} GiB`;
  if (sz > 2 ** 20) return `${pyFixed(sz / 2 ** 20, 3)} MiB`;
  if (sz > 2 ** 10) return `${pyFixed(sz / 2 ** 10, 3)} KiB`;
  return `${pyD(sz)} B`;
}

const US = 1000;
const MS = 1000 * US;
const SEC = 1000 * MS;
const MIN = 60 * SEC;
const HOUR = 60 * MIN;

/** Python's float modulo (result has the divisor's sign). */
function pyMod(a: number, b: number): number {
  const m = a % b;
  return m !== 0 && m < 0 !== b < 0 ? m + b : m;
}

/** A time in ns as h/m/s/ms/us/ns (`1 m 30 s`), or plain ns when `machineFriendly`. @kernel format_time_ns (damo _damo_fmt_str.py) */
export function formatTimeNs(timeNs: number, machineFriendly: boolean): string {
  if (machineFriendly) return pyD(timeNs);
  const t = timeNs;
  if (t >= ULONG_MAX) return 'max';
  if (t >= HOUR) {
    const hour = Math.trunc(t / HOUR);
    const hourStr = `${pyD(hour)} h`;
    const less = t - hour * HOUR;
    if (less === 0) return hourStr;
    return `${hourStr} ${formatTimeNs(less, false)}`;
  }
  if (t >= MIN) {
    if (pyMod(t, MIN) === 0) return `${pyD(t / MIN)} m`;
    if (pyMod(t, SEC) === 0) return `${pyD(t / MIN)} m ${pyD(pyMod(t, MIN) / SEC)} s`;
    return `${pyD(t / MIN)} m ${pyFixed(pyMod(t, MIN) / SEC, 3)} s`;
  }
  if (t >= SEC) {
    if (pyMod(t, SEC) === 0) return `${pyD(t / SEC)} s`;
    return `${pyFixed(t / SEC, 3)} s`;
  }
  if (t >= MS) {
    if (pyMod(t, MS) === 0) return `${pyD(t / MS)} ms`;
    return `${pyFixed(t / MS, 3)} ms`;
  }
  if (t >= US) {
    if (pyMod(t, US) === 0) return `${pyD(t / US)} us`;
    return `${pyFixed(t / US, 3)} us`;
  }
  return `${pyD(t)} ns`;
}

/** A time in µs, formatted as {@link formatTimeNs} does. @kernel format_time_us (damo _damo_fmt_str.py) */
export function formatTimeUs(timeUs: number, machineFriendly: boolean): string {
  if (machineFriendly) return pyD(timeUs);
  return formatTimeNs(timeUs * 1000, machineFriendly);
}

const UNITS: [number, string][] = [
  [24 * HOUR, 'd'],
  [HOUR, 'h'],
  [MIN, 'm'],
  [SEC, 's'],
  [MS, 'ms'],
  [US, 'us'],
  [1, 'ns'],
];

/** A time in ns spelled out unit by unit down to `minUnit` ns, the last unit with decimals. @kernel format_time_ns_min_unit (damo _damo_fmt_str.py) */
export function formatTimeNsMinUnit(timeNs: number, minUnit: number, machineFriendly: boolean): string {
  if (machineFriendly) return pyD(timeNs);
  if (timeNs >= ULONG_MAX) return 'max';
  for (const [unit, name] of UNITS) {
    if (timeNs < unit) continue;
    if (unit === minUnit) {
      if (pyMod(timeNs, unit)) return `${pyFixed(timeNs / unit, 3)} ${name}`;
      return `${pyD(timeNs / unit)} ${name}`;
    }
    const nr = Math.trunc(timeNs / unit);
    const unitStr = `${formatNr(nr, false)} ${name}`;
    const less = timeNs - nr * unit;
    if (less === 0) return unitStr;
    return `${unitStr} ${formatTimeNsMinUnit(less, minUnit, false)}`;
  }
  return '0 ns';
}

/** A time in ns spelled out exactly, down to ns. @kernel format_time_ns_exact (damo _damo_fmt_str.py) */
export function formatTimeNsExact(timeNs: number, machineFriendly: boolean): string {
  return formatTimeNsMinUnit(timeNs, 1, machineFriendly);
}

/** A time in µs spelled out exactly, down to ns. @kernel format_time_us_exact (damo _damo_fmt_str.py) */
export function formatTimeUsExact(timeUs: number, machineFriendly: boolean): string {
  return formatTimeNsExact(timeUs * US, machineFriendly);
}

/** A ratio as a percentage (`12.5 %`), or six decimals of the ratio when `machineFriendly`. @kernel format_ratio (damo _damo_fmt_str.py) */
export function formatRatio(ratio: number, machineFriendly: boolean): string {
  if (machineFriendly) return pyFixed(ratio, 6);
  const over = Math.trunc(ratio * 100);
  const overStr = formatNr(over, false);
  const under = pyMod(ratio * 100, 1);
  let underStr = pyFixed(under, 7).replace(/0+$/, '');
  underStr = underStr.slice(2);
  if (underStr === '') return `${overStr} %`;
  return `${overStr}.${underStr} %`;
}

/** A percentage as {@link formatRatio} shows it. @kernel format_percent (damo _damo_fmt_str.py) */
export function formatPercent(percent: number, machineFriendly: boolean): string {
  if (machineFriendly) return pyFixed(percent, 6);
  return formatRatio(percent / 100, false);
}

/** A value in basis points (1/10000) shown as a percentage. @kernel format_bp (damo _damo_fmt_str.py) */
export function formatBp(bp: number, machineFriendly: boolean): string {
  if (machineFriendly) return pyFixed(bp, 6);
  return formatRatio(bp / 10000, false);
}

/** Parse damo's number text ("4,096", "12") to a number. @kernel text_to_nr (damo _damo_fmt_str.py) */
export function textToNr(txt: string | number): number {
  if (typeof txt === 'number') return txt;
  const n = Number(txt.replaceAll(',', ''));
  if (!Number.isFinite(n)) throw new Error(`damo: not a number: '${txt}'`);
  return n;
}

const SIZE_UNITS: Record<string, number> = {
  B: 1,
  K: 2 ** 10,
  KB: 2 ** 10,
  KiB: 2 ** 10,
  M: 2 ** 20,
  MB: 2 ** 20,
  MiB: 2 ** 20,
  G: 2 ** 30,
  GB: 2 ** 30,
  GiB: 2 ** 30,
  T: 2 ** 40,
  TB: 2 ** 40,
  TiB: 2 ** 40,
  P: 2 ** 50,
  PB: 2 ** 50,
  PiB: 2 ** 50,
  E: 2 ** 60,
  EB: 2 ** 60,
  EiB: 2 ** 60,
};

/** Parse a size ("0 B", "4,096", "1.5 GiB", "max"). @kernel text_to_bytes (damo _damo_fmt_str.py) */
export function textToBytes(txt: string | number): number {
  if (typeof txt === 'number') return txt;
  if (txt === 'min') return 0;
  if (txt === 'max') return ULONG_MAX;
  const t = txt.replaceAll(' ', '');
  const m = /^([0-9.,]+)([A-Za-z]*)$/.exec(t);
  if (m === null) throw new Error(`damo: not a size: '${txt}'`);
  const unit = m[2] === '' ? 'B' : m[2]!;
  const mul = SIZE_UNITS[unit];
  if (mul === undefined) throw new Error(`damo: unknown size unit in '${txt}'`);
  return Math.min(ULONG_MAX, Math.trunc(textToNr(m[1]!) * mul));
}

const TIME_UNITS: Record<string, number> = { ns: 1, us: US, ms: MS, s: SEC, m: MIN, h: HOUR, d: 24 * HOUR };

/** Parse a time to ns ("1 h 3 m", "5000", "1.5 s"). @kernel text_to_ns (damo _damo_fmt_str.py) */
export function textToNs(txt: string | number): number {
  if (typeof txt === 'number') return txt;
  if (txt === 'min') return 0;
  if (txt === 'max') return ULONG_MAX;
  const fields = txt.trim().split(/\s+/);
  if (fields.length > 1) {
    let sum = 0;
    for (let i = 0; i < fields.length; i += 2) sum += textToNs(fields.slice(i, i + 2).join(''));
    return sum;
  }
  const m = /^(-?[0-9.,]+)([a-z]*)$/.exec(fields[0]!);
  if (m === null) throw new Error(`damo: not a time: '${txt}'`);
  if (m[2] === '') return textToNr(m[1]!);
  const mul = TIME_UNITS[m[2]!];
  if (mul === undefined) throw new Error(`damo: unknown time unit in '${txt}'`);
  return textToNr(m[1]!) * mul;
}

/** Parse a time to µs. @kernel text_to_us (damo _damo_fmt_str.py) */
export function textToUs(txt: string | number): number {
  if (typeof txt === 'number') return txt;
  if (/^[0-9.,]+$/.test(txt.trim())) return textToNr(txt);
  return textToNs(txt) / US;
}
