/**
 * DOC: a small zlib (RFC 1950) / DEFLATE (RFC 1951) codec with CRC-32, so
 * PNG images and damo's `json_compressed` record files can be written and
 * read without native code (it runs unchanged in a browser).
 *
 * The compressor emits fixed-Huffman blocks with LZ77 matches found through
 * a hash of the next three bytes (one candidate per hash, a greedy match), or
 * stored blocks at level 0. The decompressor handles stored, fixed and
 * dynamic blocks, so it reads what Python's zlib.compress() writes.
 */

const CRC_TABLE = (() => {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
})();

/** CRC-32 (ISO-HDLC, as PNG and gzip use), continuing from `crc`. */
export function crc32(data: Uint8Array, crc = 0): number {
  let c = (crc ^ 0xffffffff) >>> 0;
  for (let i = 0; i < data.length; i++) c = CRC_TABLE[(c ^ data[i]!) & 0xff]! ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

/** Adler-32 of `data`. */
export function adler32(data: Uint8Array): number {
  let a = 1;
  let b = 0;
  for (let i = 0; i < data.length; ) {
    const end = Math.min(data.length, i + 5552);
    for (; i < end; i++) {
      a += data[i]!;
      b += a;
    }
    a %= 65521;
    b %= 65521;
  }
  return ((b << 16) | a) >>> 0;
}

class BitWriter {
  buf: Uint8Array;
  pos: number;
  bit: number;
  acc: number;

  constructor(size: number) {
    this.buf = new Uint8Array(Math.max(64, size));
    this.pos = 0;
    this.bit = 0;
    this.acc = 0;
  }

  private ensure(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    const b = new Uint8Array(Math.max(this.buf.length * 2, this.pos + n));
    b.set(this.buf.subarray(0, this.pos));
    this.buf = b;
  }

  /** Write `n` bits of `v`, least significant first. */
  bits(v: number, n: number): void {
    this.acc |= v << this.bit;
    this.bit += n;
    while (this.bit >= 8) {
      this.ensure(1);
      this.buf[this.pos++] = this.acc & 0xff;
      this.acc >>>= 8;
      this.bit -= 8;
    }
  }

  /** Write a Huffman code (most significant bit first). */
  code(c: number, len: number): void {
    let r = 0;
    for (let i = 0; i < len; i++) r |= ((c >>> i) & 1) << (len - 1 - i);
    this.bits(r, len);
  }

  align(): void {
    if (this.bit > 0) this.bits(0, 8 - this.bit);
  }

  bytes(data: Uint8Array, start: number, end: number): void {
    this.ensure(end - start);
    this.buf.set(data.subarray(start, end), this.pos);
    this.pos += end - start;
  }

  result(): Uint8Array {
    this.align();
    return this.buf.slice(0, this.pos);
  }
}

const LEN_BASE = [
  3, 4, 5, 6, 7, 8, 9, 10, 11, 13, 15, 17, 19, 23, 27, 31, 35, 43, 51, 59, 67, 83, 99, 115, 131, 163, 195, 227, 258,
];
const LEN_EXTRA = [0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5, 0];
const DIST_BASE = [
  1, 2, 3, 4, 5, 7, 9, 13, 17, 25, 33, 49, 65, 97, 129, 193, 257, 385, 513, 769, 1025, 1537, 2049, 3073, 4097, 6145,
  8193, 12289, 16385, 24577,
];
const DIST_EXTRA = [0, 0, 0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7, 8, 8, 9, 9, 10, 10, 11, 11, 12, 12, 13, 13];

function fixedLitCode(w: BitWriter, sym: number): void {
  if (sym < 144) w.code(0x30 + sym, 8);
  else if (sym < 256) w.code(0x190 + sym - 144, 9);
  else if (sym < 280) w.code(sym - 256, 7);
  else w.code(0xc0 + sym - 280, 8);
}

function writeLength(w: BitWriter, len: number): void {
  let i = LEN_BASE.length - 1;
  while (LEN_BASE[i]! > len) i--;
  fixedLitCode(w, 257 + i);
  if (LEN_EXTRA[i]) w.bits(len - LEN_BASE[i]!, LEN_EXTRA[i]!);
}

function writeDist(w: BitWriter, d: number): void {
  let i = DIST_BASE.length - 1;
  while (DIST_BASE[i]! > d) i--;
  w.code(i, 5);
  if (DIST_EXTRA[i]) w.bits(d - DIST_BASE[i]!, DIST_EXTRA[i]!);
}

/**
 * Raw DEFLATE of `data`: level 0 stores, otherwise fixed Huffman with LZ77.
 */
export function deflateRaw(data: Uint8Array, level = 6): Uint8Array {
  const w = new BitWriter((data.length >>> 1) + 64);
  if (level === 0 || data.length === 0) {
    let i = 0;
    do {
      const end = Math.min(data.length, i + 65535);
      w.bits(end === data.length ? 1 : 0, 1);
      w.bits(0, 2);
      w.align();
      const len = end - i;
      w.bits(len & 0xffff, 16);
      w.bits(~len & 0xffff, 16);
      w.bytes(data, i, end);
      i = end;
    } while (i < data.length);
    return w.result();
  }
  w.bits(1, 1); // final
  w.bits(1, 2); // fixed Huffman
  const HBITS = 15;
  const head = new Int32Array(1 << HBITS).fill(-1);
  const n = data.length;
  let i = 0;
  while (i < n) {
    let bestLen = 0;
    let bestDist = 0;
    if (i + 2 < n) {
      const h = ((data[i]! << 10) ^ (data[i + 1]! << 5) ^ data[i + 2]!) & ((1 << HBITS) - 1);
      const cand = head[h]!;
      head[h] = i;
      if (cand >= 0 && i - cand <= 32768) {
        const max = Math.min(258, n - i);
        let l = 0;
        while (l < max && data[cand + l] === data[i + l]) l++;
        if (l >= 3) {
          bestLen = l;
          bestDist = i - cand;
        }
      }
    }
    if (bestLen >= 3) {
      writeLength(w, bestLen);
      writeDist(w, bestDist);
      // Index the skipped positions so later matches find them.
      for (let k = i + 1; k < i + bestLen && k + 2 < n; k++) {
        head[((data[k]! << 10) ^ (data[k + 1]! << 5) ^ data[k + 2]!) & ((1 << HBITS) - 1)] = k;
      }
      i += bestLen;
    } else {
      fixedLitCode(w, data[i]!);
      i++;
    }
  }
  fixedLitCode(w, 256);
  return w.result();
}

/** zlib stream of `data` (CMF/FLG header, DEFLATE, Adler-32). */
export function zlibCompress(data: Uint8Array, level = 6): Uint8Array {
  const body = deflateRaw(data, level);
  const out = new Uint8Array(body.length + 6);
  out[0] = 0x78;
  out[1] = level === 0 ? 0x01 : 0x9c;
  out.set(body, 2);
  const a = adler32(data);
  out[out.length - 4] = a >>> 24;
  out[out.length - 3] = (a >>> 16) & 0xff;
  out[out.length - 2] = (a >>> 8) & 0xff;
  out[out.length - 1] = a & 0xff;
  return out;
}

class BitReader {
  readonly data: Uint8Array;
  pos: number;
  bit: number;

  constructor(data: Uint8Array, pos: number) {
    this.data = data;
    this.pos = pos;
    this.bit = 0;
  }

  bits(n: number): number {
    let v = 0;
    for (let i = 0; i < n; i++) {
      if (this.pos >= this.data.length) throw new Error('zlib: unexpected end of data');
      v |= ((this.data[this.pos]! >>> this.bit) & 1) << i;
      if (++this.bit === 8) {
        this.bit = 0;
        this.pos++;
      }
    }
    return v;
  }

  align(): void {
    if (this.bit) {
      this.bit = 0;
      this.pos++;
    }
  }
}

interface Huff {
  counts: Uint16Array;
  symbols: Uint16Array;
}

function buildHuff(lengths: ArrayLike<number>): Huff {
  const counts = new Uint16Array(16);
  for (let i = 0; i < lengths.length; i++) counts[lengths[i]!]!++;
  counts[0] = 0;
  const offs = new Uint16Array(16);
  for (let i = 1; i < 16; i++) offs[i] = offs[i - 1]! + counts[i - 1]!;
  const symbols = new Uint16Array(lengths.length);
  for (let i = 0; i < lengths.length; i++) if (lengths[i]) symbols[offs[lengths[i]!]!++] = i;
  return { counts, symbols };
}

function decodeSym(r: BitReader, h: Huff): number {
  let code = 0;
  let first = 0;
  let index = 0;
  for (let len = 1; len < 16; len++) {
    code |= r.bits(1);
    const count = h.counts[len]!;
    if (code - count < first) return h.symbols[index + (code - first)]!;
    index += count;
    first += count;
    first <<= 1;
    code <<= 1;
  }
  throw new Error('zlib: bad Huffman code');
}

const FIXED_LIT = (() => {
  const l = new Uint8Array(288);
  l.fill(8, 0, 144);
  l.fill(9, 144, 256);
  l.fill(7, 256, 280);
  l.fill(8, 280, 288);
  return buildHuff(l);
})();
const FIXED_DIST = buildHuff(new Uint8Array(30).fill(5));
const CL_ORDER = [16, 17, 18, 0, 8, 7, 9, 6, 10, 5, 11, 4, 12, 3, 13, 2, 14, 1, 15];

/** Inflate raw DEFLATE data starting at byte `start`. */
export function inflateRaw(data: Uint8Array, start = 0): Uint8Array {
  const r = new BitReader(data, start);
  let out = new Uint8Array(Math.max(1024, data.length * 4));
  let n = 0;
  const put = (b: number): void => {
    if (n === out.length) {
      const o = new Uint8Array(out.length * 2);
      o.set(out);
      out = o;
    }
    out[n++] = b;
  };
  let final = 0;
  while (!final) {
    final = r.bits(1);
    const type = r.bits(2);
    if (type === 0) {
      r.align();
      const len = data[r.pos]! | (data[r.pos + 1]! << 8);
      r.pos += 4;
      for (let i = 0; i < len; i++) put(data[r.pos++]!);
      continue;
    }
    let lit = FIXED_LIT;
    let dist = FIXED_DIST;
    if (type === 2) {
      const hlit = r.bits(5) + 257;
      const hdist = r.bits(5) + 1;
      const hclen = r.bits(4) + 4;
      const cl = new Uint8Array(19);
      for (let i = 0; i < hclen; i++) cl[CL_ORDER[i]!] = r.bits(3);
      const clh = buildHuff(cl);
      const lens = new Uint8Array(hlit + hdist);
      for (let i = 0; i < hlit + hdist; ) {
        const sym = decodeSym(r, clh);
        if (sym < 16) lens[i++] = sym;
        else if (sym === 16) {
          const prev = lens[i - 1]!;
          for (let k = 3 + r.bits(2); k > 0; k--) lens[i++] = prev;
        } else if (sym === 17) i += 3 + r.bits(3);
        else i += 11 + r.bits(7);
      }
      lit = buildHuff(lens.subarray(0, hlit));
      dist = buildHuff(lens.subarray(hlit));
    } else if (type !== 1) {
      throw new Error('zlib: bad block type');
    }
    for (;;) {
      const sym = decodeSym(r, lit);
      if (sym < 256) put(sym);
      else if (sym === 256) break;
      else {
        const li = sym - 257;
        const len = LEN_BASE[li]! + r.bits(LEN_EXTRA[li]!);
        const di = decodeSym(r, dist);
        const d = DIST_BASE[di]! + r.bits(DIST_EXTRA[di]!);
        for (let k = 0; k < len; k++) put(out[n - d]!);
      }
    }
  }
  return out.slice(0, n);
}

/** Decompress a zlib stream (checks the header and the Adler-32). */
export function zlibDecompress(data: Uint8Array): Uint8Array {
  if (data.length < 6 || (data[0]! & 0x0f) !== 8 || ((data[0]! << 8) | data[1]!) % 31 !== 0) {
    throw new Error('zlib: not a zlib stream');
  }
  const out = inflateRaw(data, 2);
  const a = adler32(out);
  const e = data.length - 4;
  const want = ((data[e]! << 24) | (data[e + 1]! << 16) | (data[e + 2]! << 8) | data[e + 3]!) >>> 0;
  if (a !== want) throw new Error('zlib: Adler-32 mismatch');
  return out;
}
