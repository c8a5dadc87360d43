import { describe, expect, it } from 'vitest';
import { collectGarbage } from '../src/pipeline/free-memory.js';

describe('collectGarbage', () => {
  it('collects a dropped 256 MB shared buffer now, and its memory goes back', async () => {
    const rss = () => process.memoryUsage().rss;
    let rows: Float64Array | null = new Float64Array(new SharedArrayBuffer(256 << 20));
    rows.fill(1);
    const held = rss();
    expect(rows[12345]).toBe(1);
    rows = null;
    expect(collectGarbage()).toBe(true);
    // the backing store is freed by V8's sweeper just after the collection
    let now = rss();
    for (let i = 0; i < 100 && held - now < 200 << 20; i++) {
      await new Promise((resolve) => setTimeout(resolve, 20));
      now = rss();
    }
    expect(held - now).toBeGreaterThan(200 << 20);
  });
});
