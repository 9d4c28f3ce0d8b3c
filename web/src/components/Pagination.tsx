// Previous / Next over a list endpoint's { items, total } with limit and offset.
interface Props {
  total: number;
  limit: number;
  offset: number;
  onChange: (offset: number) => void;
  label: string;
}

export function Pagination({ total, limit, offset, onChange, label }: Props) {
  const from = total === 0 ? 0 : offset + 1;
  const to = Math.min(offset + limit, total);
  return (
    <nav className="pagination" aria-label={`${label} pages`}>
      <span aria-live="polite">{total === 0 ? 'No results' : `Showing ${from}–${to} of ${total}`}</span>
      <div className="pagination__buttons">
        <button
          type="button"
          className="btn btn-small"
          disabled={offset === 0}
          onClick={() => onChange(Math.max(0, offset - limit))}
        >
          Previous
        </button>
        <button
          type="button"
          className="btn btn-small"
          disabled={offset + limit >= total}
          onClick={() => onChange(offset + limit)}
        >
          Next
        </button>
      </div>
    </nav>
  );
}
