// Who are you? The username first; then a way of proving it among those the security settings
// offer — directory (LDAP) password, initial password or security answers (reference 000 step 5).
// The server answers every name alike (nothing tells whether it exists), so the likeliest method is
// shown and the others are a click away.
import { useEffect, useRef, useState, type FormEvent } from 'react';
import { ErrorPanel } from '../components/ErrorPanel';
import { useAction } from '../hooks';
import { portalApi } from './portal-api';
import type { PortalAuthMethod, PortalSignedIn, SignInOptions } from './types';

export type Purpose = 'issue' | 'no-card';

/**
 * Which methods fit the purpose, likeliest first: where the directory is on, people have a
 * directory password; otherwise a new card comes with an initial password. Without the card, the
 * initial password (meant for setting up a card) is not offered.
 */
export function methodsFor(purpose: Purpose, offered: PortalAuthMethod[]): PortalAuthMethod[] {
  const order: PortalAuthMethod[] =
    purpose === 'issue'
      ? ['directory_password', 'initial_password', 'security_questions']
      : ['security_questions', 'directory_password'];
  return order.filter((m) => offered.includes(m));
}

const METHOD: Record<PortalAuthMethod, { use: string; label: string; hint: string }> = {
  initial_password: {
    use: 'Use the initial password I received',
    label: 'Initial password',
    hint: 'The one-time password your help desk gave you for this card.',
  },
  directory_password: {
    use: 'Use my directory password',
    label: 'Directory password',
    hint: 'The password you use to sign in to your organisation’s network.',
  },
  security_questions: {
    use: 'Answer my security questions',
    label: 'Security questions',
    hint: 'Upper and lower case do not matter, and spaces are ignored.',
  },
};

interface Props {
  purpose: Purpose;
  onSignedIn: (s: PortalSignedIn) => void;
  onBack: () => void;
}

export function SignIn({ purpose, onSignedIn, onBack }: Props) {
  const [username, setUsername] = useState('');
  const [options, setOptions] = useState<SignInOptions | null>(null);
  const [method, setMethod] = useState<PortalAuthMethod | null>(null);
  const [password, setPassword] = useState('');
  const [missing, setMissing] = useState(false);
  const [answers, setAnswers] = useState<Record<string, string>>({});
  const act = useAction();
  const firstField = useRef<HTMLInputElement>(null);

  const methods = options ? methodsFor(purpose, options.methods) : [];

  // Each new form takes the focus on its first field, so keyboard and screen-reader users follow.
  useEffect(() => {
    firstField.current?.focus();
  }, [options, method]);

  /** Secrets never outlive the form they were typed in. */
  const forget = () => {
    setPassword('');
    setAnswers({});
  };

  const findMethods = async (e: FormEvent) => {
    e.preventDefault();
    forget();
    // A name of spaces passes the field's own check; say so here rather than disabling Continue.
    if (!username.trim()) {
      setMissing(true);
      return;
    }
    const o = await act.run(() => portalApi.start(username.trim()));
    if (!o) return;
    setOptions(o);
    setMethod(methodsFor(purpose, o.methods)[0] ?? null);
  };

  const signIn = async (e: FormEvent) => {
    e.preventDefault();
    const name = username.trim();
    const s = await act.run(() =>
      method === 'security_questions'
        ? portalApi.withSecurityQuestions(
            name,
            (options?.questions ?? []).map((q) => ({ questionId: q.id, answer: answers[q.id] ?? '' })),
          )
        : method === 'directory_password'
          ? portalApi.withDirectoryPassword(name, password)
          : portalApi.withInitialPassword(name, password),
    );
    if (s) {
      forget();
      onSignedIn(s);
    }
  };

  const choose = (m: PortalAuthMethod) => {
    act.clear();
    forget();
    setMethod(m);
  };

  if (!options)
    return (
      <form className="form" onSubmit={(e) => void findMethods(e)}>
        <p>
          {purpose === 'issue'
            ? 'First, tell us who you are.'
            : 'Without your card you sign in with your security questions or your directory password.'}
        </p>
        <div className="field">
          <label htmlFor="portal-username">Username</label>
          <input
            id="portal-username"
            ref={firstField}
            autoComplete="username"
            autoCapitalize="none"
            spellCheck={false}
            value={username}
            onChange={(e) => {
              setUsername(e.target.value);
              setMissing(false);
            }}
            aria-describedby={missing ? 'portal-username-missing' : undefined}
            required
            maxLength={128}
          />
          {missing && (
            <p id="portal-username-missing" className="field-error" role="alert">
              Type your username.
            </p>
          )}
        </div>
        <ErrorPanel error={act.error} title="That did not work" />
        <div className="portal-actions">
          <button type="submit" className="btn btn-primary btn-large" disabled={act.busy}>
            {act.busy ? 'Checking…' : 'Continue'}
          </button>
          <button type="button" className="btn btn-large" onClick={onBack}>
            Back
          </button>
        </div>
      </form>
    );

  if (!method)
    return (
      <div>
        <p className="portal-notice" role="alert">
          {purpose === 'issue'
            ? 'This portal offers no way of signing in at the moment. Contact your help desk.'
            : 'Signing in without your card needs security questions or a directory password, and this portal offers neither. Contact your help desk.'}
        </p>
        <div className="portal-actions">
          <button type="button" className="btn btn-large" onClick={() => setOptions(null)}>
            Back
          </button>
        </div>
      </div>
    );

  const m = METHOD[method];
  const questions = options.questions ?? [];
  return (
    <form className="form" onSubmit={(e) => void signIn(e)}>
      <p>
        Signing in as <strong>{username.trim()}</strong>.
      </p>
      {method === 'security_questions' ? (
        <fieldset className="portal-questions">
          <legend>{m.label}</legend>
          <p className="muted small">{m.hint}</p>
          {questions.map((q, i) => (
            <div className="field" key={q.id}>
              <label htmlFor={`answer-${i}`}>{q.text}</label>
              <input
                id={`answer-${i}`}
                ref={i === 0 ? firstField : undefined}
                type="password"
                autoComplete="off"
                spellCheck={false}
                value={answers[q.id] ?? ''}
                onChange={(e) => setAnswers({ ...answers, [q.id]: e.target.value })}
                required
                maxLength={256}
              />
            </div>
          ))}
        </fieldset>
      ) : (
        <div className="field">
          <label htmlFor="portal-password">{m.label}</label>
          <input
            id="portal-password"
            ref={firstField}
            type="password"
            autoComplete={method === 'directory_password' ? 'current-password' : 'one-time-code'}
            value={password}
            onChange={(e) => setPassword(e.target.value)}
            aria-describedby="portal-password-hint"
            required
            maxLength={256}
          />
          <p id="portal-password-hint" className="muted small">
            {m.hint}
          </p>
        </div>
      )}
      <ErrorPanel error={act.error} title="You are not signed in" />
      <div className="portal-actions">
        <button type="submit" className="btn btn-primary btn-large" disabled={act.busy}>
          {act.busy ? 'Checking…' : 'Continue'}
        </button>
        <button
          type="button"
          className="btn btn-large"
          onClick={() => {
            act.clear();
            forget();
            setOptions(null);
          }}
        >
          Back
        </button>
      </div>
      {methods.length > 1 && (
        <ul className="portal-alternatives" aria-label="Other ways to sign in">
          {methods
            .filter((x) => x !== method)
            .map((x) => (
              <li key={x}>
                <button type="button" className="btn-link" onClick={() => choose(x)}>
                  {METHOD[x].use} instead
                </button>
              </li>
            ))}
        </ul>
      )}
    </form>
  );
}
