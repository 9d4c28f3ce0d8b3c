// List filters live in the URL (?q=…&state=…&offset=…), so Back, reload and shared links keep them.
import { useCallback } from 'react';
import { useLocation, useSearchParams } from 'react-router-dom';

export function useListParams<K extends string>(keys: readonly K[]) {
  const [params, setParams] = useSearchParams();
  const { pathname } = useLocation();
  const values = Object.fromEntries(keys.map((k) => [k, params.get(k) ?? ''])) as Record<K, string>;
  const offset = Math.max(0, Number(params.get('offset') ?? 0) || 0);

  /** Changing a filter goes back to the first page. */
  const setFilter = useCallback(
    (key: K, value: string) =>
      // A search box's delayed update may fire after a link has already left this page (the
      // navigation is a transition, so the list is still mounted): it must not drag us back.
      window.location.pathname === pathname &&
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
    [setParams, pathname],
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
