import { describe, expect, it } from 'vitest';
import { EACCES, EBADF, EOVERFLOW, ERESTARTNOINTR, ETXTBSY, errnoName } from '../src/index.js';

describe('errno values', () => {
  it.each([
    [EBADF, 9, 'EBADF'],
    [EACCES, 13, 'EACCES'],
    [ETXTBSY, 26, 'ETXTBSY'],
    [EOVERFLOW, 75, 'EOVERFLOW'],
    [ERESTARTNOINTR, 513, 'ERESTARTNOINTR'],
  ])('%i is the kernel value %i and is named %s', (v, n, name) => {
    expect(v).toBe(n);
    expect(errnoName(-v)).toBe(name);
  });
});
