/** The runtime limits V8's heap growth unless the command line already chose a factor. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { limitHeapGrowth } from '../../../cli/runtime/heap-growth';

describe('limitHeapGrowth', () => {
  it('leaves a factor given on the command line alone, and sets it otherwise', () => {
    assert.equal(limitHeapGrowth(['--heap-growing-percent=50']), false);
    assert.equal(limitHeapGrowth(['--heap_growing_percent=50']), false);
    assert.equal(limitHeapGrowth(['--max-old-space-size=512']), true);
  });
});
