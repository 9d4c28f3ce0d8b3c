// The errors every layer speaks. Each carries a stable machine code, a message fit to show a
// person (what went wrong and what to do), and optional details. Only http/ maps them to statuses
// and only cli/ to exit codes. Messages and details never carry secrets.

export class DomainError extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly details?: Record<string, unknown>,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** A state machine refused an action: names the entity, its state and the action tried. */
export class IllegalTransitionError extends DomainError {
  constructor(
    readonly entity: string,
    readonly from: string,
    readonly action: string,
    allowed: readonly string[] = [],
  ) {
    super(
      'illegal_transition',
      `A ${entity} in state "${from}" cannot ${action.replace(/_/g, ' ')}` +
        (allowed.length
          ? ` (allowed from "${from}": ${allowed.join(', ')})`
          : ` (no action is allowed from "${from}")`),
      { entity, from, action, allowed: [...allowed] },
    );
  }
}

export class ValidationError extends DomainError {
  constructor(message: string, details?: Record<string, unknown>) {
    super('validation_failed', message, details);
  }
}

export class NotFoundError extends DomainError {
  constructor(entity: string, id: string) {
    super('not_found', `No ${entity} with id "${id}" exists`, { entity, id });
  }
}

export class ConflictError extends DomainError {
  constructor(message: string, details?: Record<string, unknown>) {
    super('conflict', message, details);
  }
}

export class UnauthenticatedError extends DomainError {
  constructor(message = 'Sign in first', details?: Record<string, unknown>) {
    super('unauthenticated', message, details);
  }
}

export class ForbiddenError extends DomainError {
  constructor(message: string, details?: Record<string, unknown>) {
    super('forbidden', message, details);
  }
}

/** A peer Tessera depends on (card, agent, CA, directory, printer, mail) failed or was unreachable. */
export class ExternalError extends DomainError {
  constructor(
    code: string,
    message: string,
    details?: Record<string, unknown>,
    options?: { cause?: unknown },
  ) {
    super(code, message, details, options);
  }
}

export type Result<T, E extends DomainError = DomainError> = { ok: true; value: T } | { ok: false; error: E };

export const ok = <T>(value: T): Result<T, never> => ({ ok: true, value });
export const fail = <E extends DomainError>(error: E): Result<never, E> => ({ ok: false, error });

/** Unwraps a Result, throwing its error: for services that want exceptions. */
export function must<T>(r: Result<T>): T {
  if (!r.ok) throw r.error;
  return r.value;
}
