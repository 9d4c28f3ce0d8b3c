// A labelled one-line text field with an optional hint tied to it (aria-describedby): the shape of
// most fields on the settings-like pages, written once.
import type { ReactNode } from 'react';

interface Props {
  id: string;
  label: ReactNode;
  value: string;
  onChange: (value: string) => void;
  hint?: ReactNode;
  placeholder?: string;
  /** Technical values (filters, DNs, attribute names): monospaced, no spelling checks. */
  mono?: boolean;
  spellCheck?: boolean;
  autoComplete?: string;
  className?: string;
}

export function TextField({
  id,
  label,
  value,
  onChange,
  hint,
  placeholder,
  mono,
  spellCheck = false,
  autoComplete = 'off',
  className = 'field',
}: Props) {
  const hintId = hint ? `${id}-hint` : undefined;
  return (
    <div className={className}>
      <label htmlFor={id}>{label}</label>
      <input
        id={id}
        className={mono ? 'mono' : undefined}
        value={value}
        onChange={(e) => onChange(e.target.value)}
        placeholder={placeholder}
        aria-describedby={hintId}
        autoComplete={autoComplete}
        spellCheck={spellCheck}
      />
      {hint && (
        <span className="field-hint" id={hintId}>
          {hint}
        </span>
      )}
    </div>
  );
}
