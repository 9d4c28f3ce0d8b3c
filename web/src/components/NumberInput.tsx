// A number field that lets a person clear it while typing; an empty or partial entry reaches the
// form as NaN, which the server refuses with a message (the server is the judge of policy rules).
import { useEffect, useState, type InputHTMLAttributes, type ReactNode } from 'react';

type Props = Omit<InputHTMLAttributes<HTMLInputElement>, 'value' | 'onChange' | 'type'> & {
  value: number;
  onValue: (n: number) => void;
};

export function NumberInput({ value, onValue, ...rest }: Props) {
  const [text, setText] = useState(Number.isNaN(value) ? '' : String(value));
  useEffect(() => {
    setText((t) => (Number(t) === value || (t === '' && Number.isNaN(value)) ? t : String(value)));
  }, [value]);
  return (
    <input
      {...rest}
      type="number"
      inputMode="numeric"
      value={text}
      onChange={(e) => {
        setText(e.target.value);
        onValue(e.target.value.trim() === '' ? Number.NaN : Number(e.target.value));
      }}
    />
  );
}

interface FieldProps {
  id: string;
  label: ReactNode;
  value: number;
  onValue: (n: number) => void;
  min?: number;
  max?: number;
  hint?: ReactNode;
  className?: string;
}

/** A labelled number field with an optional hint tied to it (aria-describedby). */
export function NumberField({ id, label, value, onValue, min, max, hint, className = 'field' }: FieldProps) {
  const hintId = hint ? `${id}-hint` : undefined;
  return (
    <div className={className}>
      <label htmlFor={id}>{label}</label>
      <NumberInput id={id} min={min} max={max} value={value} onValue={onValue} aria-describedby={hintId} />
      {hint && (
        <span className="field-hint" id={hintId}>
          {hint}
        </span>
      )}
    </div>
  );
}
