// The one rule for text the API accepts, applied by the request validator to every string field:
// no control characters (Unicode category Cc: U+0000–U+001F, U+007F–U+009F) — NUL above all,
// which PostgreSQL refuses in text and which once turned a search into a 500 — and no lone
// surrogate halves, which cannot be stored as UTF-8. Fields that hold several lines (PEM, CSV,
// notes; marked `x-multiline` in their schema) may also hold tab, line feed and carriage return.

// Matching control characters is the point of these two patterns.
/* eslint-disable no-control-regex */
const SINGLE_LINE = /[\u0000-\u001f\u007f-\u009f]/;
const MULTI_LINE = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f-\u009f]/;
/* eslint-enable no-control-regex */
const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

/** Why `text` is refused, in words that follow the field's name; null when it is acceptable. */
export function textProblem(text: string, multiline: boolean): string | null {
  const bad = (multiline ? MULTI_LINE : SINGLE_LINE).exec(text);
  if (bad) {
    const code = bad[0].charCodeAt(0).toString(16).toUpperCase().padStart(4, '0');
    return `must not contain control characters (U+${code} at character ${bad.index + 1})`;
  }
  const lone = LONE_SURROGATE.exec(text);
  if (lone) return `must be well-formed Unicode (a lone surrogate at character ${lone.index + 1})`;
  return null;
}
