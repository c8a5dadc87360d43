/**
 * Greedy label placement: labels are offered in priority order, each tries a few anchor
 * positions, and the first position whose box overlaps no placed box (nor a reserved area) wins;
 * otherwise the label is dropped. A uniform grid keeps the overlap test cheap.
 */

export interface Box {
  x: number;
  y: number;
  w: number;
  h: number;
}

export class CollisionIndex {
  private readonly cells = new Map<number, Box[]>();
  constructor(private readonly cell = 128) {}

  private keys(b: Box): number[] {
    const out: number[] = [];
    const x0 = Math.floor(b.x / this.cell);
    const x1 = Math.floor((b.x + b.w) / this.cell);
    const y0 = Math.floor(b.y / this.cell);
    const y1 = Math.floor((b.y + b.h) / this.cell);
    for (let i = x0; i <= x1; i++) for (let j = y0; j <= y1; j++) out.push(i * 100_003 + j);
    return out;
  }

  collides(b: Box): boolean {
    for (const k of this.keys(b)) {
      for (const o of this.cells.get(k) ?? []) {
        if (b.x < o.x + o.w && o.x < b.x + b.w && b.y < o.y + o.h && o.y < b.y + b.h) return true;
      }
    }
    return false;
  }

  add(b: Box): void {
    for (const k of this.keys(b)) {
      const list = this.cells.get(k);
      if (list) list.push(b);
      else this.cells.set(k, [b]);
    }
  }

  /** Places the first candidate box that fits inside `bounds` and collides with nothing. */
  place(candidates: Box[], bounds: Box): Box | null {
    for (const b of candidates) {
      if (
        b.x < bounds.x ||
        b.y < bounds.y ||
        b.x + b.w > bounds.x + bounds.w ||
        b.y + b.h > bounds.y + bounds.h
      )
        continue;
      if (!this.collides(b)) {
        this.add(b);
        return b;
      }
    }
    return null;
  }
}
