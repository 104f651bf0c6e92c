import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { formatNumber, formatSpread, markdownTable, median, percentileOfSorted, ratio, spread } from './stats';

describe('statistics of repeated runs', () => {
  test('median of an odd and an even count, unsorted input left untouched', () => {
    const values = [30, 10, 20];
    assert.equal(median(values), 20);
    assert.deepEqual(values, [30, 10, 20]);
    assert.equal(median([4, 1, 3, 2]), 2.5);
    assert.throws(() => median([]), RangeError);
  });

  test('spread is the median with min and max', () => {
    assert.deepEqual(spread([12, 9, 15]), { median: 12, min: 9, max: 15 });
  });

  test('nearest-rank percentiles', () => {
    const samples = Array.from({ length: 100 }, (_, i) => i + 1);
    assert.equal(percentileOfSorted(samples, 50), 50);
    assert.equal(percentileOfSorted(samples, 99), 99);
    assert.equal(percentileOfSorted(samples, 100), 100);
    assert.equal(percentileOfSorted([7], 99), 7);
    assert.equal(percentileOfSorted([1, 2, 3], 0.1), 1);
    assert.throws(() => percentileOfSorted([], 50), RangeError);
    assert.throws(() => percentileOfSorted([1], 0), RangeError);
  });

  test('ratio refuses missing values and a zero denominator', () => {
    assert.equal(ratio(3, 2), 1.5);
    assert.equal(ratio(undefined, 2), undefined);
    assert.equal(ratio(3, 0), undefined);
  });
});

describe('formatting', () => {
  test('numbers group thousands and keep decimals for small values', () => {
    assert.equal(formatNumber(12345.6), '12,346');
    assert.equal(formatNumber(2.345, 2), '2.35');
    assert.equal(formatNumber(undefined), '–');
    assert.equal(formatSpread({ median: 1500, min: 1400.2, max: 1600.9 }), '1,500 (1,400–1,601)');
    assert.equal(formatSpread(undefined), '–');
  });

  test('markdown tables have a separator row and escaped pipes', () => {
    assert.equal(markdownTable(['a', 'b'], [['1', 'x|y']]), ['| a | b |', '| --- | --- |', '| 1 | x\\|y |'].join('\n'));
  });
});
