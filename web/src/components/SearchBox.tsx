// A search input that waits for a pause in typing before asking the server.
import { useEffect, useState } from 'react';

interface Props {
  id: string;
  label: string;
  value: string;
  onSearch: (q: string) => void;
  placeholder?: string;
}

export function SearchBox({ id, label, value, onSearch, placeholder }: Props) {
  const [text, setText] = useState(value);
  // Follow the URL when it changes from elsewhere (Back, a link), without eating a typed space.
  useEffect(() => setText((t) => (t.trim() === value ? t : value)), [value]);
  useEffect(() => {
    if (text.trim() === value) return;
    const t = window.setTimeout(() => onSearch(text.trim()), 300);
    return () => window.clearTimeout(t);
  }, [text, value, onSearch]);
  return (
    <div className="field field--grow">
      <label htmlFor={id}>{label}</label>
      <input
        id={id}
        type="search"
        value={text}
        placeholder={placeholder}
        onChange={(e) => setText(e.target.value)}
        onKeyDown={(e) => {
          if (e.key === 'Enter') {
            e.preventDefault();
            onSearch(text.trim());
          }
        }}
      />
    </div>
  );
}
