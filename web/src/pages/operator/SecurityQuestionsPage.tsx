// Security questions: the list people choose from when they set their answers in the user portal.
// The whole list is saved at once (PUT replaces it): rows with an id are edited, new rows added,
// removed rows deleted — which the server refuses for a question someone has answered (they would
// lose a way to sign in), so such a question is deactivated instead. How many questions a person
// answers is a security setting; this page shows it and warns when too few questions are active.
import { useId, useState, type FormEvent } from 'react';
// The server's own comparison (case and spaces ignored) for "the same question twice".
import { normalizeAnswer } from '../../../../src/domain/security-questions.ts';
import { Link } from 'react-router-dom';
import { api, type ApiError } from '../../api';
import { ErrorPanel } from '../../components/ErrorPanel';
import { Loading, PageHeader, StatusMessage } from '../../components/Status';
import { useAction, useLoad, useTitle } from '../../hooks';
import { useSession } from '../../session';
import type { SecurityQuestion, SecurityQuestionInput } from '../../types';
import { RetryButton } from '../../components/ListTable';

// The server's limits (src/http/routes/security-questions.ts), checked here first so a mistake is
// pointed at its row instead of coming back as one message for the whole list.
const MIN_TEXT = 5;
const MAX_TEXT = 200;
const MAX_QUESTIONS = 100;

interface Row extends SecurityQuestionInput {
  /** A stable React key: new rows have no id yet. */
  key: string;
}

let nextKey = 0;
const toRows = (items: SecurityQuestion[]): Row[] => items.map((q) => ({ ...q, key: q.id }));

/** Per-row problems, in words, before anything is sent. */
function rowProblems(rows: Row[]): Map<string, string> {
  const out = new Map<string, string>();
  const seen = new Map<string, number>();
  rows.forEach((r, i) => {
    const text = r.text.trim();
    if (text.length < MIN_TEXT) out.set(r.key, `Write the question (${MIN_TEXT} characters at least).`);
    else if (text.length > MAX_TEXT)
      out.set(r.key, `Shorten the question to ${MAX_TEXT} characters at most.`);
    else {
      const first = seen.get(normalizeAnswer(text));
      if (first !== undefined) out.set(r.key, `Same question as question ${first + 1}.`);
      else seen.set(normalizeAnswer(text), i);
    }
  });
  return out;
}

export function SecurityQuestionsPage() {
  useTitle('Security questions');
  const list = useLoad(() => api.securityQuestions.list(), []);
  const settings = useLoad(() => api.settings.get(), []);
  return (
    <>
      <PageHeader
        title="Security questions"
        intro="The questions people choose from in the user portal. Their answers are compared ignoring case and spaces, and kept only as salted hashes."
      />
      <ErrorPanel
        error={list.error}
        title="Could not load the security questions"
        actions={<RetryButton onClick={list.reload} />}
      />
      {list.loading && !list.data && <Loading what="Loading security questions" />}
      {list.data && (
        <QuestionsForm initial={list.data.items} required={settings.data?.securityQuestionCount} />
      )}
    </>
  );
}

function QuestionsForm({ initial, required }: { initial: SecurityQuestion[]; required: number | undefined }) {
  const { can } = useSession();
  const readOnly = !can('settings.write');
  const base = useId();
  const [saved, setSaved] = useState<SecurityQuestion[]>(initial);
  const [rows, setRows] = useState<Row[]>(() => toRows(initial));
  const [checked, setChecked] = useState(false);
  const [status, setStatus] = useState('');
  // Questions the server refused to remove because someone answered them.
  const [answered, setAnswered] = useState<Set<string>>(new Set());
  const action = useAction();

  const problems = rowProblems(rows);
  const active = rows.filter((r) => r.active).length;
  const dirty =
    JSON.stringify(rows.map(({ id, text, active: a }) => ({ id, text, active: a }))) !==
    JSON.stringify(saved.map(({ id, text, active: a }) => ({ id, text, active: a })));

  const update = (key: string, patch: Partial<Row>) => {
    setStatus('');
    setRows((prev) => prev.map((r) => (r.key === key ? { ...r, ...patch } : r)));
  };
  const move = (i: number, by: -1 | 1) => {
    setRows((prev) => {
      const next = [...prev];
      const [row] = next.splice(i, 1);
      next.splice(i + by, 0, row!);
      return next;
    });
  };
  const add = () => {
    const key = `new-${++nextKey}`;
    setStatus('');
    setRows((prev) => [...prev, { key, text: '', active: true }]);
    // Focus the new field once React has rendered it.
    window.setTimeout(() => document.getElementById(`${base}-${key}`)?.focus(), 0);
  };

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setStatus('');
    setChecked(true);
    if (problems.size > 0) {
      const first = rows.find((r) => problems.has(r.key));
      if (first) document.getElementById(`${base}-${first.key}`)?.focus();
      return;
    }
    const items = rows.map(({ id, text, active: a }) => ({
      ...(id ? { id } : {}),
      text: text.trim(),
      active: a,
    }));
    const result = await action.run(() => api.securityQuestions.replace(items));
    if (result) {
      setSaved(result.items);
      setRows(toRows(result.items));
      setChecked(false);
      setAnswered(new Set());
      setStatus(`Security questions saved: ${result.items.filter((q) => q.active).length} active.`);
    }
  };
  const blocked = blockedIds(action.error);

  return (
    <form className="form form-narrow" onSubmit={(e) => void submit(e)} noValidate>
      <section className="card" aria-labelledby={`${base}-count`}>
        <h2 id={`${base}-count`}>How many each person answers</h2>
        <p>
          {required === undefined ? (
            'Each person answers the number of questions set in the security settings.'
          ) : (
            <>
              Each person answers <strong>{required}</strong> of the active questions.
            </>
          )}{' '}
          {can('settings.read') && <Link to="/operator/settings">Change this in Security settings.</Link>}
        </p>
        {required !== undefined && active < required && (
          <p className="warning" role="note">
            Only {active} question{active === 1 ? ' is' : 's are'} active, but each person must answer{' '}
            {required}: nobody could set their answers. Activate or add questions.
          </p>
        )}
      </section>

      <section className="card" aria-labelledby={`${base}-list`}>
        <h2 id={`${base}-list`}>Questions</h2>
        <ul className="notes">
          <li>
            Deactivate a question to stop offering it; people who answered it choose another at their next
            sign-in.
          </li>
          <li>
            A question someone has answered cannot be removed, only deactivated. Edit its wording only to fix
            it: the answers given stay attached to it.
          </li>
        </ul>
        <fieldset disabled={readOnly} className="plain">
          {rows.length === 0 && <p className="muted">No security questions yet.</p>}
          <ol className="questions">
            {rows.map((r, i) => {
              const n = i + 1;
              const problem = checked ? problems.get(r.key) : undefined;
              const refused = !!r.id && (blocked.has(r.id) || answered.has(r.id));
              const hintId = `${base}-${r.key}-hint`;
              return (
                <li key={r.key} className={`question${r.active ? '' : ' question--inactive'}`}>
                  <div className="field">
                    <label htmlFor={`${base}-${r.key}`}>
                      Question {n}
                      {!r.id && <span className="muted"> (new)</span>}
                    </label>
                    <input
                      id={`${base}-${r.key}`}
                      value={r.text}
                      maxLength={MAX_TEXT + 50}
                      onChange={(e) => update(r.key, { text: e.target.value })}
                      aria-invalid={problem ? true : undefined}
                      aria-describedby={problem || refused ? hintId : undefined}
                      autoComplete="off"
                    />
                    {(problem || refused) && (
                      <span className="field-error" id={hintId}>
                        {problem ??
                          'People have answered this question: it cannot be removed. Deactivate it instead.'}
                      </span>
                    )}
                  </div>
                  <div className="question__controls">
                    <div className="check">
                      <input
                        type="checkbox"
                        id={`${base}-${r.key}-active`}
                        checked={r.active}
                        onChange={(e) => update(r.key, { active: e.target.checked })}
                      />
                      <label htmlFor={`${base}-${r.key}-active`}>Question {n} active</label>
                    </div>
                    <button
                      type="button"
                      className="btn btn-ghost btn-small"
                      disabled={i === 0}
                      onClick={() => move(i, -1)}
                      aria-label={`Move question ${n} up`}
                    >
                      ↑
                    </button>
                    <button
                      type="button"
                      className="btn btn-ghost btn-small"
                      disabled={i === rows.length - 1}
                      onClick={() => move(i, 1)}
                      aria-label={`Move question ${n} down`}
                    >
                      ↓
                    </button>
                    <button
                      type="button"
                      className="btn btn-ghost btn-small"
                      onClick={() => {
                        setStatus('');
                        setRows((prev) => prev.filter((x) => x.key !== r.key));
                      }}
                      aria-label={`Remove question ${n}`}
                    >
                      Remove
                    </button>
                  </div>
                </li>
              );
            })}
          </ol>
          {!readOnly && (
            <button
              type="button"
              className="btn btn-small"
              onClick={add}
              disabled={rows.length >= MAX_QUESTIONS}
            >
              Add question
            </button>
          )}
        </fieldset>
      </section>

      {checked && problems.size > 0 && (
        <p className="field-error" role="alert">
          {problems.size === 1 ? 'One question needs' : `${problems.size} questions need`} attention before
          saving.
        </p>
      )}
      <ErrorPanel
        error={action.error}
        title="The security questions were not saved"
        onDismiss={action.clear}
        actions={
          blocked.size > 0 ? (
            <button
              type="button"
              className="btn btn-small"
              onClick={() => {
                // Put the answered questions back, inactive: what the server allows.
                const back = saved.filter((q) => blocked.has(q.id) && !rows.some((r) => r.id === q.id));
                setAnswered(new Set([...answered, ...blocked]));
                setRows((prev) => [...prev, ...back.map((q) => ({ ...q, key: q.id, active: false }))]);
                action.clear();
              }}
            >
              Keep them, deactivated
            </button>
          ) : undefined
        }
      />
      <StatusMessage>{status}</StatusMessage>
      {!readOnly && (
        <div className="form-actions">
          <button
            type="button"
            className="btn"
            disabled={!dirty || action.busy}
            onClick={() => {
              setRows(toRows(saved));
              setChecked(false);
              action.clear();
              setStatus('Changes discarded.');
            }}
          >
            Discard changes
          </button>
          <button type="submit" className="btn btn-primary" disabled={action.busy}>
            {action.busy ? 'Saving…' : 'Save questions'}
          </button>
        </div>
      )}
    </form>
  );
}

/** The ids of answered questions a save tried to remove (409 conflict, details.ids). */
function blockedIds(error: ApiError | null): Set<string> {
  const ids = error?.code === 'conflict' ? error.details?.ids : undefined;
  return new Set(Array.isArray(ids) ? ids.filter((x): x is string => typeof x === 'string') : []);
}
