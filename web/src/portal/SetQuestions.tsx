// Choosing and answering one's security questions (reference 000 step 5). Answers ignore case and
// spaces and are kept only as salted hashes; the person is told to record them, because without
// their card they are how one signs in.
import { useEffect, useState, type FormEvent } from 'react';
import { ErrorPanel } from '../components/ErrorPanel';
import { useAction, useLoad } from '../hooks';
import { portalApi } from './portal-api';

interface Props {
  /** Why the person is here: first sign-in (must set) or a change they asked for. */
  required: boolean;
  onDone: () => void;
  onCancel?: () => void;
}

export function SetQuestions({ required, onDone, onCancel }: Props) {
  const status = useLoad(() => portalApi.questions(), []);
  const [chosen, setChosen] = useState<string[]>([]);
  const [answers, setAnswers] = useState<string[]>([]);
  const [ready, setReady] = useState(false);
  const [tried, setTried] = useState(false);
  const act = useAction();

  const st = status.data;
  useEffect(() => {
    if (!st) return;
    // Start from the questions already answered, then the first others, one per slot.
    const first = [...st.answered, ...st.available.filter((q) => !st.answered.some((a) => a.id === q.id))];
    setChosen(first.slice(0, st.required).map((q) => q.id));
    setAnswers(Array.from({ length: st.required }, () => ''));
    setReady(true);
  }, [st]);

  if (status.error) return <ErrorPanel error={status.error} title="Could not load the security questions" />;
  if (!st || !ready) return <p>Loading the security questions…</p>;
  if (st.available.length < st.required)
    return (
      <p className="portal-notice" role="alert">
        Your organisation has not defined enough security questions yet ({st.available.length} of{' '}
        {st.required}). Contact your help desk.
      </p>
    );

  const choice = st.available.length > st.required;
  const duplicate = new Set(chosen).size !== chosen.length;
  const complete = answers.every((a) => a.trim() !== '') && !duplicate;

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    // Continue stays enabled: an incomplete form says what is missing when it is sent.
    if (!complete) return setTried(true);
    const r = await act.run(() =>
      portalApi.setQuestions(chosen.map((questionId, i) => ({ questionId, answer: answers[i]! }))),
    );
    if (r) {
      setAnswers([]);
      onDone();
    }
  };

  return (
    <form className="form" onSubmit={(e) => void submit(e)} aria-label="Set your security questions">
      <p>
        {required
          ? `Before you go on, answer ${st.required} security question${st.required === 1 ? '' : 's'}.`
          : 'Choose new answers. They replace the ones you gave before.'}{' '}
        Without your card, you sign in to this portal with these answers.
      </p>
      <p className="portal-notice" role="note">
        Record your answers and keep them in a safe place: you will need them when you come here without your
        card. Upper and lower case do not matter (TOTO, toto and ToTo are the same answer) and spaces are
        ignored.
      </p>
      {chosen.map((id, i) => (
        <div className="portal-questions" key={i}>
          {choice && (
            <div className="field">
              <label htmlFor={`question-${i}`}>Question {i + 1}</label>
              <select
                id={`question-${i}`}
                value={id}
                onChange={(e) => setChosen(chosen.map((c, j) => (j === i ? e.target.value : c)))}
              >
                {st.available.map((q) => (
                  <option key={q.id} value={q.id} disabled={q.id !== id && chosen.includes(q.id)}>
                    {q.text}
                  </option>
                ))}
              </select>
            </div>
          )}
          <div className="field">
            <label htmlFor={`new-answer-${i}`}>
              {choice
                ? `Answer ${i + 1}`
                : (st.available.find((q) => q.id === id)?.text ?? `Answer ${i + 1}`)}
            </label>
            {choice && (
              // A screen reader hears which question this answer is for, not only "Answer 1".
              <span id={`new-answer-${i}-q`} className="visually-hidden">
                {st.available.find((q) => q.id === id)?.text}
              </span>
            )}
            <input
              id={`new-answer-${i}`}
              aria-describedby={choice ? `new-answer-${i}-q` : undefined}
              autoComplete="off"
              spellCheck={false}
              value={answers[i] ?? ''}
              onChange={(e) => setAnswers(answers.map((a, j) => (j === i ? e.target.value : a)))}
              required
              maxLength={256}
            />
          </div>
        </div>
      ))}
      {duplicate && <p role="alert">Choose a different question for each answer.</p>}
      {tried && !duplicate && !complete && (
        <p className="field-error" role="alert">
          Answer every question (an answer of only spaces does not count).
        </p>
      )}
      <ErrorPanel error={act.error} title="Your answers were not saved" />
      <div className="portal-actions">
        <button type="submit" className="btn btn-primary btn-large" disabled={act.busy}>
          {act.busy ? 'Saving…' : 'Continue'}
        </button>
        {onCancel && (
          <button type="button" className="btn btn-large" onClick={onCancel}>
            Cancel
          </button>
        )}
      </div>
    </form>
  );
}
