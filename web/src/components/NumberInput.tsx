// A number field that lets a person clear it while typing; an empty or partial entry reaches the
// form as NaN, which the server refuses with a message (the server is the judge of policy rules).
import { useEffect, useState, type InputHTMLAttributes } from 'react';

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
