// Editing a user's free properties (employee id, department…) as rows of key and value.
import { useId } from 'react';

export type Pair = [string, string];

export const toPairs = (record: Record<string, string>): Pair[] => Object.entries(record);

export function toRecord(pairs: Pair[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of pairs) if (k.trim()) out[k.trim()] = v;
  return out;
}

interface Props {
  pairs: Pair[];
  onChange: (pairs: Pair[]) => void;
  legend?: string;
}

export function KeyValueEditor({ pairs, onChange, legend = 'Properties' }: Props) {
  const base = useId();
  const set = (i: number, at: 0 | 1, text: string) =>
    onChange(pairs.map((p, n) => (n === i ? ((at === 0 ? [text, p[1]] : [p[0], text]) as Pair) : p)));
  return (
    <fieldset className="kv-editor">
      <legend>{legend}</legend>
      {pairs.length === 0 && <p className="muted">No properties.</p>}
      {pairs.map(([k, v], i) => (
        <div className="kv-editor__row" key={i}>
          <div className="field">
            <label htmlFor={`${base}-k${i}`}>Property {i + 1} name</label>
            <input
              id={`${base}-k${i}`}
              value={k}
              onChange={(e) => set(i, 0, e.target.value)}
              autoComplete="off"
            />
          </div>
          <div className="field">
            <label htmlFor={`${base}-v${i}`}>Property {i + 1} value</label>
            <input
              id={`${base}-v${i}`}
              value={v}
              onChange={(e) => set(i, 1, e.target.value)}
              autoComplete="off"
            />
          </div>
          <button
            type="button"
            className="btn btn-ghost btn-small"
            onClick={() => onChange(pairs.filter((_, n) => n !== i))}
            aria-label={`Remove property ${i + 1}${k ? ` (${k})` : ''}`}
          >
            Remove
          </button>
        </div>
      ))}
      <button type="button" className="btn btn-small" onClick={() => onChange([...pairs, ['', '']])}>
        Add property
      </button>
    </fieldset>
  );
}
