// What every searchable operator list shares: a select filter and a removable filter chip for the
// filter bar, and the list itself — the load error with Try again, the first-load note, a table
// with a caption and column headers, a row saying nothing matches, and Previous / Next.
import type { ReactNode } from 'react';
import type { Loaded } from '../hooks';
import type { Page } from '../types';
import { ErrorPanel } from './ErrorPanel';
import { Pagination } from './Pagination';
import { Loading } from './Status';
import { useStackTable } from './stack-table';

export function RetryButton({ onClick }: { onClick: () => void }) {
  return (
    <button type="button" className="btn btn-small" onClick={onClick}>
      Try again
    </button>
  );
}

interface SelectFilterProps {
  id: string;
  label: string;
  value: string;
  onChange: (value: string) => void;
  /** The first option, which sets no filter ("Any state"). */
  any: string;
  options: readonly { value: string; label: string }[];
}

export function SelectFilter({ id, label, value, onChange, any, options }: SelectFilterProps) {
  return (
    <div className="field">
      <label htmlFor={id}>{label}</label>
      <select id={id} value={value} onChange={(e) => onChange(e.target.value)}>
        <option value="">{any}</option>
        {options.map((o) => (
          <option key={o.value} value={o.value}>
            {o.label}
          </option>
        ))}
      </select>
    </div>
  );
}

/** A filter set from elsewhere (a link with ?userId=…), shown with a button to drop it. */
export function FilterChip({
  children,
  clearLabel,
  onClear,
}: {
  children: ReactNode;
  clearLabel: string;
  onClear: () => void;
}) {
  return (
    <div className="filter-chip">
      <span>{children}</span>
      <button type="button" className="btn btn-ghost btn-small" onClick={onClear}>
        {clearLabel}
      </button>
    </div>
  );
}

interface ListTableProps<T> {
  list: Loaded<Page<T>>;
  /** The table's caption and the pagination's name, e.g. "Devices". */
  caption: string;
  errorTitle: string;
  loadingText: string;
  emptyText: string;
  columns: readonly string[];
  /** One <tr> per item, its cells in the order of `columns`. */
  row: (item: T) => ReactNode;
  limit: number;
  offset: number;
  onOffset: (offset: number) => void;
  compact?: boolean;
}

export function ListTable<T>({
  list,
  caption,
  errorTitle,
  loadingText,
  emptyText,
  columns,
  row,
  limit,
  offset,
  onOffset,
  compact,
}: ListTableProps<T>) {
  const stack = useStackTable();
  return (
    <>
      <ErrorPanel error={list.error} title={errorTitle} actions={<RetryButton onClick={list.reload} />} />
      {list.loading && !list.data && <Loading what={loadingText} />}
      {list.data && (
        <>
          <div className="table-wrap" aria-busy={list.loading}>
            <table
              ref={stack}
              className={compact ? 'table table--compact table--stack' : 'table table--stack'}
            >
              <caption className="visually-hidden">{caption}</caption>
              <thead>
                <tr>
                  {columns.map((c) => (
                    <th key={c} scope="col">
                      {c}
                    </th>
                  ))}
                </tr>
              </thead>
              <tbody>
                {list.data.items.map(row)}
                {list.data.items.length === 0 && (
                  <tr>
                    <td colSpan={columns.length} className="table__empty">
                      {emptyText}
                    </td>
                  </tr>
                )}
              </tbody>
            </table>
          </div>
          <Pagination
            label={caption}
            total={list.data.total}
            limit={limit}
            offset={offset}
            onChange={onOffset}
          />
        </>
      )}
    </>
  );
}
