/**
 * DOC: a PNG encoder (8-bit RGB, no interlace): signature, IHDR, one IDAT
 * of zlib-compressed scanlines (filter type 0), IEND, each chunk with its
 * CRC-32.
 */
import { MmError } from '@mm/machine';
import { crc32, zlibCompress } from './zlib.js';

function chunk(type: string, data: Uint8Array): Uint8Array {
  const out = new Uint8Array(12 + data.length);
  const dv = new DataView(out.buffer);
  dv.setUint32(0, data.length);
  for (let i = 0; i < 4; i++) out[4 + i] = type.charCodeAt(i);
  out.set(data, 8);
  dv.setUint32(8 + data.length, crc32(out.subarray(4, 8 + data.length)));
  return out;
}

/**
 * Encode `rgb` (width × height × 3 bytes, rows top to bottom) as a PNG file.
 * @throws MmError EINVAL when the buffer does not match the size.
 */
export function encodePng(width: number, height: number, rgb: Uint8Array): Uint8Array {
  if (!(width > 0 && height > 0) || rgb.length !== width * height * 3) {
    throw new MmError('EINVAL', `png: ${rgb.length} bytes is not ${width}×${height}×3`);
  }
  const ihdr = new Uint8Array(13);
  const dv = new DataView(ihdr.buffer);
  dv.setUint32(0, width);
  dv.setUint32(4, height);
  ihdr[8] = 8; // bit depth
  ihdr[9] = 2; // colour type RGB
  const raw = new Uint8Array(height * (1 + width * 3));
  for (let y = 0; y < height; y++) {
    raw[y * (1 + width * 3)] = 0;
    raw.set(rgb.subarray(y * width * 3, (y + 1) * width * 3), y * (1 + width * 3) + 1);
  }
  const parts = [
    new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', ihdr),
    chunk('IDAT', zlibCompress(raw)),
    chunk('IEND', new Uint8Array(0)),
  ];
  const out = new Uint8Array(parts.reduce((a, p) => a + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}
