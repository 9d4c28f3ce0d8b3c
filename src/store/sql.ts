// Small helpers shared by the repositories.

/** PostgreSQL's unique_violation, as both node-postgres and PGlite report it. */
export function isUniqueViolation(err: unknown): boolean {
  return typeof err === 'object' && err !== null && (err as { code?: unknown }).code === '23505';
}

/** Collects WHERE clauses with numbered parameters. */
export class Where {
  readonly params: unknown[] = [];
  readonly #clauses: string[] = [];

  /** Adds a clause; each `?` becomes the next numbered parameter bound to `values` in order. */
  add(clause: string, ...values: unknown[]): this {
    let i = 0;
    this.#clauses.push(
      clause.replace(/\?/g, () => {
        this.params.push(values[i++]);
        return `$${this.params.length}`;
      }),
    );
    return this;
  }

  next(value: unknown): string {
    this.params.push(value);
    return `$${this.params.length}`;
  }

  toString(): string {
    return this.#clauses.length ? `WHERE ${this.#clauses.join(' AND ')}` : '';
  }
}

/** Escapes LIKE wildcards so a search term matches literally. */
export const likeTerm = (q: string): string => `%${q.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;

export const iso = (d: Date | string | null | undefined): string | null =>
  d == null ? null : new Date(d).toISOString();

/**
 * One repository's row read beside another table's in a join: `columns(alias, prefix)` selects its
 * columns each renamed `<prefix><column>`, and `read(row, prefix)` maps them back with the
 * repository's own mapper (null when a LEFT JOIN found none).
 */
export function joinedRow<R, T>(
  columns: string,
  map: (row: R) => T,
): {
  columns: (alias: string, prefix: string) => string;
  read: (row: Record<string, unknown>, prefix: string) => T | null;
} {
  const names = columns.split(', ');
  return {
    columns: (alias, prefix) => names.map((c) => `${alias}.${c} AS ${prefix}${c}`).join(', '),
    read: (row, prefix) => {
      if (row[`${prefix}id`] == null) return null;
      const r: Record<string, unknown> = {};
      for (const c of names) r[c] = row[`${prefix}${c}`];
      return map(r as R);
    },
  };
}
