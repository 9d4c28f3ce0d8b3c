// Security settings: how the initial PIN is handled at issuance, whether users may retry a failed
// self-issuance, how people prove who they are in the user portal, and how long and for how many
// tries an initial password is good.
import { useState, type FormEvent } from 'react';
import { Link } from 'react-router-dom';
import { api } from '../../api';
import { ErrorPanel } from '../../components/ErrorPanel';
import { NumberField } from '../../components/NumberInput';
import { Loading, PageHeader, StatusMessage } from '../../components/Status';
import { humanize } from '../../format';
import { useAction, useLoad, useTitle } from '../../hooks';
import { useSession } from '../../session';
import {
  INITIAL_PASSWORD_MAX_ATTEMPTS,
  INITIAL_PASSWORD_VALIDITY_HOURS,
  INITIAL_PIN_DISPLAY_MODES,
  PORTAL_AUTH_METHODS,
  SECURITY_QUESTION_COUNT,
  type InitialPinDisplayMode,
  type Settings,
} from '../../types';
import { RetryButton } from '../../components/ListTable';
import { SignInDelays } from './SignInDelays';

const PIN_MODE: Record<InitialPinDisplayMode, { label: string; hint: string }> = {
  displayed: { label: 'Displayed', hint: 'The operator types the initial PIN once, in clear.' },
  disguised: { label: 'Disguised', hint: 'The PIN is masked while typed and must be confirmed.' },
  not_displayed: {
    label: 'Not displayed',
    hint: 'Nobody types a PIN at issuance: Tessera generates it; the user changes it or retrieves it later.',
  },
};
const PIN_MODES = INITIAL_PIN_DISPLAY_MODES.map((value) => ({ value, ...PIN_MODE[value] }));
const HOURS = INITIAL_PASSWORD_VALIDITY_HOURS;
const TRIES = INITIAL_PASSWORD_MAX_ATTEMPTS;

export function SettingsPage() {
  useTitle('Security settings');
  const { can } = useSession();
  const loaded = useLoad(() => api.settings.get(), []);
  return (
    <>
      <PageHeader title="Security settings" intro="Apply to every issuance and to the user portal." />
      <ErrorPanel
        error={loaded.error}
        title="Could not load the settings"
        actions={<RetryButton onClick={loaded.reload} />}
      />
      {loaded.loading && !loaded.data && <Loading what="Loading settings" />}
      {loaded.data && <SettingsForm initial={loaded.data} />}
      {/* As wide as the form above it, so the page reads as one column. */}
      {can('user.read') && (
        <div className="form-narrow">
          <SignInDelays />
        </div>
      )}
    </>
  );
}

function SettingsForm({ initial }: { initial: Settings }) {
  const { can } = useSession();
  const [s, setS] = useState<Settings>(initial);
  const [status, setStatus] = useState('');
  const action = useAction();
  const readOnly = !can('settings.write');
  const set = <K extends keyof Settings>(key: K, value: Settings[K]) =>
    setS((prev) => ({ ...prev, [key]: value }));

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setStatus('');
    const saved = await action.run(() => api.settings.put(s));
    if (saved) {
      setS(saved);
      setStatus('Settings saved.');
    }
  };

  return (
    <form className="form form-narrow" onSubmit={(e) => void submit(e)} noValidate>
      <fieldset disabled={readOnly} className="plain">
        <section className="card" aria-labelledby="set-issuance">
          <h2 id="set-issuance">Issuance</h2>
          <fieldset className="checks">
            <legend>Device initial PIN display mode</legend>
            {PIN_MODES.map((m) => (
              <div className="check" key={m.value}>
                <input
                  type="radio"
                  name="pin-mode"
                  id={`pin-mode-${m.value}`}
                  checked={s.initialPinDisplayMode === m.value}
                  onChange={() => set('initialPinDisplayMode', m.value)}
                  aria-describedby={`pin-mode-${m.value}-hint`}
                />
                <label htmlFor={`pin-mode-${m.value}`}>{m.label}</label>
                <span className="check__hint" id={`pin-mode-${m.value}-hint`}>
                  {m.hint}
                </span>
              </div>
            ))}
          </fieldset>
          <div className="check">
            <input
              type="checkbox"
              id="set-change-pin"
              checked={s.changePinDuringIssuance}
              onChange={(e) => set('changePinDuringIssuance', e.target.checked)}
              aria-describedby="set-change-pin-hint"
            />
            <label htmlFor="set-change-pin">Change PIN during issuance</label>
            <span className="check__hint" id="set-change-pin-hint">
              With “Not displayed”, the user sets their own PIN at the end of issuance.
            </span>
          </div>
          <div className="check">
            <input
              type="checkbox"
              id="set-retry"
              checked={s.issuanceRetryForUser}
              onChange={(e) => set('issuanceRetryForUser', e.target.checked)}
              aria-describedby="set-retry-hint"
            />
            <label htmlFor="set-retry">Enable issuance retry for user</label>
            <span className="check__hint" id="set-retry-hint">
              Shows a Retry button in the user portal when self-issuance fails.
            </span>
          </div>
        </section>

        <section className="card" aria-labelledby="set-portal">
          <h2 id="set-portal">User portal authentication</h2>
          <fieldset className="checks">
            <legend>Methods a user may use to prove who they are</legend>
            {PORTAL_AUTH_METHODS.map((m) => (
              <div className="check" key={m}>
                <input
                  type="checkbox"
                  id={`auth-${m}`}
                  checked={s.portalAuthMethods.includes(m)}
                  onChange={(e) =>
                    set(
                      'portalAuthMethods',
                      e.target.checked
                        ? [...s.portalAuthMethods, m]
                        : s.portalAuthMethods.filter((x) => x !== m),
                    )
                  }
                />
                <label htmlFor={`auth-${m}`}>{humanize(m)}</label>
              </div>
            ))}
          </fieldset>
          <NumberField
            id="set-questions"
            label="Number of security questions"
            min={SECURITY_QUESTION_COUNT.min}
            max={SECURITY_QUESTION_COUNT.max}
            value={s.securityQuestionCount}
            onValue={(v) => set('securityQuestionCount', v)}
            className="field field--setting"
            hint={
              <>
                How many questions each person answers.{' '}
                <Link to="/operator/security-questions">Edit the questions</Link>
              </>
            }
          />
          <NumberField
            id="set-ip-validity"
            label="Initial password validity (hours)"
            min={HOURS.min}
            max={HOURS.max}
            value={s.initialPasswordValidityHours}
            onValue={(v) => set('initialPasswordValidityHours', v)}
            className="field field--setting"
            hint={`How long a newly issued initial password can be used: ${HOURS.min} to ${HOURS.max} hours (${HOURS.max / 24} days). Passwords already issued keep the validity they were issued with.`}
          />
          <NumberField
            id="set-ip-attempts"
            label="Initial password attempts"
            min={TRIES.min}
            max={TRIES.max}
            value={s.initialPasswordMaxAttempts}
            onValue={(v) => set('initialPasswordMaxAttempts', v)}
            className="field field--setting"
            hint={`Wrong tries (${TRIES.min} to ${TRIES.max}) after which an initial password stops working; the help desk then issues a new one.`}
          />
        </section>
      </fieldset>
      <ErrorPanel error={action.error} title="The settings were not saved" onDismiss={action.clear} />
      <StatusMessage>{status}</StatusMessage>
      {!readOnly && (
        <div className="form-actions">
          <button type="submit" className="btn btn-primary" disabled={action.busy}>
            {action.busy ? 'Saving…' : 'Save settings'}
          </button>
        </div>
      )}
    </form>
  );
}
