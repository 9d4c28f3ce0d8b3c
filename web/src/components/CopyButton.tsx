// A Copy button with its own spoken result ("Copied" / "Could not copy"), and the one-time secret
// display built on it (initial PIN, initial password): the value as an <output> named for screen
// readers, and Copy beside it.
import { useState } from 'react';
import { copyText } from './copy';

interface CopyProps {
  text: string;
  label?: string;
  /** What is announced once copied. */
  done?: string;
}

export function CopyButton({ text, label = 'Copy', done = 'Copied' }: CopyProps) {
  const [status, setStatus] = useState('');
  return (
    <>
      <button
        type="button"
        className="btn btn-small"
        onClick={() => void copyText(text).then((ok) => setStatus(ok ? done : 'Could not copy'))}
      >
        {label}
      </button>
      <span aria-live="polite">{status}</span>
    </>
  );
}

/** A value shown once (the server forgets it): large, monospaced, with Copy. */
export function ShownOnceValue({ label, value, wide }: { label: string; value: string; wide?: boolean }) {
  return (
    <div className="initial-pin">
      <output
        className={`initial-pin__value${wide ? ' initial-pin__value--password' : ''} mono`}
        aria-label={label}
      >
        {value}
      </output>
      <CopyButton text={value} />
    </div>
  );
}
