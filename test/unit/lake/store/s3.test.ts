import { isOldEnough } from '../../../../src/lake/store/s3';

describe('S3 store helpers', () => {
  it('ages uploads by a clock of whole seconds', () => {
    expect(isOldEnough(10_500, 10_000, 0)).toBe(true);
    expect(isOldEnough(10_500, 10_000, 600_000)).toBe(false);
    expect(isOldEnough(0, 3_600_000, 3_600_000)).toBe(true);
    expect(isOldEnough(2_000, 3_600_000, 3_600_000)).toBe(false);
  });
});
