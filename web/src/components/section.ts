// What each section of a settings-like form needs to edit its own piece: ids unique to the
// section, a setter for one field, and edits of one row of a list.
import { useId } from 'react';

export function useSection<T extends object>(value: T, onChange: (v: T) => void) {
  const base = useId();
  return {
    id: (name: string) => `${base}-${name}`,
    set: <K extends keyof T>(key: K, v: T[K]) => onChange({ ...value, [key]: v }),
  };
}

/** The list with its i-th row changed by `patch`. */
export const patchAt = <T extends object>(list: readonly T[], i: number, patch: Partial<T>): T[] =>
  list.map((x, n) => (n === i ? { ...x, ...patch } : x));

/** The list without its i-th row. */
export const removeAt = <T>(list: readonly T[], i: number): T[] => list.filter((_, n) => n !== i);
