// List filters live in the URL (?q=…&state=…&offset=…), so Back, reload and shared links keep them.
import { useCallback } from 'react';
import { useSearchParams } from 'react-router-dom';

export function useListParams<K extends string>(keys: readonly K[]) {
  const [params, setParams] = useSearchParams();
  const values = Object.fromEntries(keys.map((k) => [k, params.get(k) ?? ''])) as Record<K, string>;
  const offset = Math.max(0, Number(params.get('offset') ?? 0) || 0);

  /** Changing a filter goes back to the first page. */
  const setFilter = useCallback(
    (key: K, value: string) =>
      setParams(
        (prev) => {
          const p = new URLSearchParams(prev);
          if (value) p.set(key, value);
          else p.delete(key);
          p.delete('offset');
          return p;
        },
        { replace: true },
      ),
    [setParams],
  );

  const setOffset = useCallback(
    (n: number) =>
      setParams((prev) => {
        const p = new URLSearchParams(prev);
        if (n > 0) p.set('offset', String(n));
        else p.delete('offset');
        return p;
      }),
    [setParams],
  );

  return { values, offset, setFilter, setOffset };
}
