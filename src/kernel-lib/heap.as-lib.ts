/**
 * AssemblyScript shared by the kernels with growable memory (`// kernel memory: growable`): a
 * bump allocator over the module's memory. `reset` frees every block, `alloc` takes one and grows
 * the memory when it must (trapping when it cannot: the caller catches the RuntimeError and takes
 * its JavaScript path). Callers make their views of the memory again after any call that allocates.
 */

let top: usize = 0;

/** Frees every block (the next `alloc` starts over). */
export function reset(): void {
  top = (__heap_base + 15) & ~15;
}

/** `bytes` of memory (8-byte aligned), growing the memory when needed; traps when it cannot. */
export function alloc(bytes: usize): usize {
  if (top === 0) reset();
  const at = top;
  const end = (<u64>at + <u64>bytes + 7) & ~7;
  const have = <u64>memory.size() << 16;
  if (end > have) {
    const pages = <i32>((end - have + 0xffff) >> 16);
    if (end > 0xffff_fff0 || memory.grow(pages) < 0) unreachable();
  }
  top = <usize>end;
  return at;
}

/** Zeroed `bytes` (freed memory is reused, so it may hold earlier values). */
export function zeroed(bytes: usize): usize {
  const at = alloc(bytes);
  memory.fill(at, 0, bytes);
  return at;
}

/** Where the next block starts: blocks taken after `mark()` go with `release(mark)`. */
export function mark(): usize {
  if (top === 0) reset();
  return top;
}

export function release(at: usize): void {
  top = at;
}
