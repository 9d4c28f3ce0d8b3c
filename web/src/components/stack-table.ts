// On a phone a wide table becomes one block per row, each cell under its column's name (CSS
// `.table--stack` below 40rem): its last columns — a device's actions, whom it is assigned to —
// are then on screen rather than off its right edge. The cells learn their column's name from the
// header here (data-label), also when rows come and go; their roles are set outright, since a
// table shown as blocks loses them otherwise.
import { useCallback, useRef } from 'react';

/** Sets an attribute only when it changes (no needless DOM writes on every mutation). */
function set(el: Element, name: string, value: string): void {
  if (el.getAttribute(name) !== value) el.setAttribute(name, value);
}

/**
 * Labels each cell with its column's name, and states the table's roles outright: a table laid out
 * as blocks would otherwise lose them for screen readers (and for getByRole).
 */
function label(table: HTMLTableElement): void {
  set(table, 'role', 'table');
  const heads = Array.from(table.tHead?.rows[0]?.cells ?? []).map((c) => c.textContent?.trim() ?? '');
  if (table.tHead) {
    set(table.tHead, 'role', 'rowgroup');
    for (const row of Array.from(table.tHead.rows)) {
      set(row, 'role', 'row');
      for (const cell of Array.from(row.cells)) set(cell, 'role', 'columnheader');
    }
  }
  for (const body of Array.from(table.tBodies)) {
    set(body, 'role', 'rowgroup');
    for (const row of Array.from(body.rows)) {
      set(row, 'role', 'row');
      let col = 0;
      for (const cell of Array.from(row.cells)) {
        set(cell, 'data-label', heads[col] ?? '');
        set(cell, 'role', cell.tagName === 'TH' ? 'rowheader' : 'cell');
        col += cell.colSpan;
      }
    }
  }
}

/** A ref for a `<table className="table table--stack">` that labels its cells by column. */
export function useStackTable(): (table: HTMLTableElement | null) => void {
  const observer = useRef<MutationObserver | null>(null);
  return useCallback((table: HTMLTableElement | null) => {
    observer.current?.disconnect();
    observer.current = null;
    if (!table) return;
    label(table);
    // Only rows and cells added or removed: the attributes set here do not wake it again.
    observer.current = new MutationObserver(() => label(table));
    observer.current.observe(table, { childList: true, subtree: true, characterData: true });
  }, []);
}
