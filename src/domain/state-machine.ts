// One generic finite-state machine, so every entity's lifecycle (DESIGN.md "Domain") is a transition
// table as data and the checking logic exists once. Each action has exactly one target state and a
// set of states it may start from; anything else is refused with an IllegalTransitionError that
// names the entity, the state, the action and what would have been allowed.

import { fail, IllegalTransitionError, ok, type Result } from './errors.js';

/** For each action: the states it may be taken from, and the state it leads to. */
export type TransitionTable<S extends string, A extends string> = {
  readonly [K in A]: { readonly from: readonly S[]; readonly to: S };
};

export interface Machine<S extends string, A extends string> {
  readonly entity: string;
  readonly states: readonly S[];
  readonly actions: readonly A[];
  readonly table: TransitionTable<S, A>;
  /** The state `action` leads to from `from`, or the typed refusal. */
  transition(from: S, action: A): Result<S, IllegalTransitionError>;
  /** The actions legal from `state`, in the table's order. */
  allowedActions(state: S): A[];
  /** Whether `action` is legal from `state`. */
  can(state: S, action: A): boolean;
}

export function defineMachine<S extends string, A extends string>(
  entity: string,
  states: readonly S[],
  table: TransitionTable<S, A>,
): Machine<S, A> {
  const actions = Object.keys(table) as A[];
  // Own-property lookups only: a state or action read from a database or a request body may be any
  // string at run time, and "constructor" must not be mistaken for an action.
  const rule = (action: A) => (Object.hasOwn(table, action) ? table[action] : undefined);
  const can = (state: S, action: A): boolean => rule(action)?.from.includes(state) ?? false;
  const allowedActions = (state: S): A[] => actions.filter((a) => can(state, a));
  return {
    entity,
    states,
    actions,
    table,
    can,
    allowedActions,
    transition(from, action) {
      const r = rule(action);
      if (r && r.from.includes(from)) return ok(r.to);
      return fail(new IllegalTransitionError(entity, from, action, allowedActions(from)));
    },
  };
}
