// The user portal (reference 000): Welcome with Start and "I don't have my smart card"; sign-in by
// initial password, directory password or security answers; security questions set when the portal
// requires them; then either the card (agent, reader, personalization, new PIN, Done) or, without the
// card, the person's devices. One task per screen; the heading of each takes the focus so a screen
// reader announces where the person is.
import { useCallback, useEffect, useRef, useState, type ReactNode } from 'react';
import { toApiError, type ApiError } from '../../api';
import { ErrorPanel } from '../../components/ErrorPanel';
import { useTitle } from '../../hooks';
import { ConnectCard } from '../../portal/ConnectCard';
import { MyDevices } from '../../portal/MyDevices';
import { Personalize } from '../../portal/Personalize';
import { SetQuestions } from '../../portal/SetQuestions';
import { SignIn, type Purpose } from '../../portal/SignIn';
import { onPortalSessionEnded, portalApi } from '../../portal/portal-api';
import type { PortalMe } from '../../portal/types';
import type { Device, IssuanceJob } from '../../types';
import { readyToEnroll } from '../../portal/MyRequests';
import { ReportProblem } from '../../portal/ReportProblem';
import { MobileId } from '../../portal/MobileId';

type Step =
  | { name: 'welcome' }
  | { name: 'sign-in'; purpose: Purpose }
  | { name: 'questions'; purpose: Purpose; required: boolean }
  | { name: 'card'; requestId?: string }
  | { name: 'report'; device: Device }
  | { name: 'personalize'; device: Device; job: IssuanceJob }
  | { name: 'devices' }
  | { name: 'mobile-id'; start: boolean }
  | { name: 'problem'; purpose: Purpose };

const TITLES: Record<Step['name'], string> = {
  welcome: 'Welcome',
  'sign-in': 'Sign in',
  questions: 'Set your security questions',
  card: 'Insert your smart card',
  report: 'Report a problem with my device',
  // The stage (personalizing, choose your PIN, ready, failed) is the sub-heading's to say.
  personalize: 'Set up your smart card',
  devices: 'Without your smart card',
  'mobile-id': 'Mobile ID',
  problem: 'Something went wrong',
};

export function PortalPage() {
  const [step, setStep] = useState<Step>({ name: 'welcome' });
  const [me, setMe] = useState<PortalMe | null>(null);
  const [checked, setChecked] = useState(false);
  const [error, setError] = useState<ApiError | null>(null);
  const [signedOut, setSignedOut] = useState(false);
  const [notice, setNotice] = useState('');
  const headingRef = useRef<HTMLHeadingElement>(null);
  const title =
    step.name === 'personalize' && step.device.type === 'mobile' ? 'Set up your phone' : TITLES[step.name];
  useTitle(`User portal · ${title}`);

  // A person already signed in to the portal (after a reload) need not sign in again. Start does
  // not wait on this look (a button disabled for no visible reason): it awaits the answer instead.
  const meCheck = useRef<Promise<PortalMe | null> | null>(null);
  useEffect(() => {
    meCheck.current = portalApi.me().then(
      (m) => {
        setMe(m);
        setChecked(true);
        return m;
      },
      () => {
        setChecked(true);
        return null;
      },
    );
  }, []);

  useEffect(() => {
    if (step.name !== 'welcome') headingRef.current?.focus();
  }, [step]);

  // The session ended mid-way (idle too long, signed out elsewhere): whatever was polling or
  // streaming unmounts with its step, and the person signs in again; an issuance left running or
  // waiting for the PIN is taken up again after that.
  const purposeRef = useRef<Purpose>('issue');
  /** Get Mobile ID (reference 004): after sign-in the person goes to the mobile ID, not the card. */
  const mobileIntent = useRef<null | 'get' | 'view'>(null);
  useEffect(() => {
    onPortalSessionEnded(() => {
      setMe(null);
      setNotice('Your session ended. Sign in again: your card’s set-up continues where it stopped.');
      setStep({ name: 'sign-in', purpose: purposeRef.current });
    });
    return () => onPortalSessionEnded(null);
  }, []);

  const loadMe = useCallback(async () => {
    try {
      const m = await portalApi.me();
      setMe(m);
      return m;
    } catch (e) {
      setError(toApiError(e));
      return null;
    }
  }, []);

  /** Where a signed-in person goes for a purpose: questions first when the portal requires them. */
  const proceed = async (purpose: Purpose) => {
    setError(null);
    setNotice('');
    purposeRef.current = purpose;
    const m = await loadMe();
    // Signed in but the next step could not be read: say so with Try again, rather than leaving the
    // sign-in form up (an initial password is used up once accepted).
    if (!m) return setStep({ name: 'problem', purpose });
    if (m.securityQuestions.mustSet) return setStep({ name: 'questions', purpose, required: true });
    if (mobileIntent.current) return setStep({ name: 'mobile-id', start: mobileIntent.current === 'get' });
    if (purpose === 'no-card') return setStep({ name: 'devices' });
    // An issuance left mid-way (a reload, a closed browser) is taken up where it stands.
    try {
      const open = await portalApi.openIssuance();
      if (open.job && open.device)
        return setStep({ name: 'personalize', device: open.device, job: open.job });
    } catch (e) {
      setError(toApiError(e));
      return setStep({ name: 'problem', purpose });
    }
    // A replacement ready to be set up here: the issuance completes its request.
    try {
      const ready = (await portalApi.myRequests()).items.find(readyToEnroll);
      return setStep({ name: 'card', requestId: ready?.id });
    } catch (e) {
      setError(toApiError(e));
      return setStep({ name: 'problem', purpose });
    }
  };

  const begin = async (purpose: Purpose, mobile: null | 'get' | 'view' = null) => {
    mobileIntent.current = mobile;
    setSignedOut(false);
    setError(null);
    purposeRef.current = purpose;
    setNotice('');
    const signedIn = checked ? me : await meCheck.current;
    if (signedIn) void proceed(purpose);
    else setStep({ name: 'sign-in', purpose });
  };

  /** Done signs out: a portal is often used on a shared workstation. */
  const done = async () => {
    try {
      await portalApi.signOut();
    } catch (e) {
      const err = toApiError(e);
      // 401: the session had already ended, which is what Done wanted.
      if (err.status !== 401) {
        setError(err);
        setNotice('You may still be signed in: close this browser window to end your session.');
      }
    }
    setMe(null);
    setSignedOut(true);
    setStep({ name: 'welcome' });
  };

  const welcome = () => {
    setNotice('');
    setStep({ name: 'welcome' });
  };

  let body: ReactNode;
  switch (step.name) {
    case 'welcome':
      body = (
        <>
          <p className="portal-lead">
            Here you can set up your smart card yourself, or get help when you don't have it with you.
          </p>
          <p>
            Insert your card into this computer's card reader and choose <strong>Start</strong>: you sign in,
            then this page finds your card and sets it up. If this is your first time, have the initial
            password you received at hand.
          </p>
          {signedOut && !notice && (
            <p className="notice" role="status">
              You are signed out. You can close this window.
            </p>
          )}
          {me && (
            <p className="muted">
              Signed in as {me.user.displayName}.{' '}
              <button type="button" className="btn-link" onClick={() => void done()}>
                Sign out
              </button>
            </p>
          )}
          <div className="portal-actions">
            <button type="button" className="btn btn-primary btn-large" onClick={() => void begin('issue')}>
              Start
            </button>
            <button type="button" className="btn btn-large" onClick={() => void begin('no-card')}>
              I don't have my smart card
            </button>
          </div>
          <div className="portal-actions">
            <button type="button" className="btn btn-large" onClick={() => void begin('issue', 'get')}>
              Get Mobile ID
            </button>
            <button type="button" className="btn btn-large" onClick={() => void begin('issue', 'view')}>
              Mobile ID
            </button>
          </div>
        </>
      );
      break;
    case 'sign-in':
      body = <SignIn purpose={step.purpose} onSignedIn={() => void proceed(step.purpose)} onBack={welcome} />;
      break;
    case 'problem':
      body = (
        <div className="portal-actions">
          <button
            type="button"
            className="btn btn-primary btn-large"
            onClick={() => void proceed(step.purpose)}
          >
            Try again
          </button>
          <button type="button" className="btn btn-large" onClick={() => void done()}>
            Done
          </button>
        </div>
      );
      break;
    case 'questions':
      body = (
        <SetQuestions
          required={step.required}
          onDone={() => void proceed(step.purpose)}
          onCancel={step.required ? undefined : () => setStep({ name: 'devices' })}
        />
      );
      break;
    case 'card':
      body = me && (
        <ConnectCard
          userId={me.user.id}
          requestId={step.requestId}
          onBack={welcome}
          onStarted={(r) =>
            r.job
              ? setStep({ name: 'personalize', device: r.device, job: r.job })
              : setError(toApiError(new Error('The server started no personalization for this card')))
          }
        />
      );
      break;
    case 'report':
      body = (
        <ReportProblem
          device={step.device}
          onBack={() => setStep({ name: 'devices' })}
          onReported={(r) => {
            // Read the devices again: the reported one is on hold now.
            void loadMe().then(() => {
              setNotice(
                `Your report is recorded as request #${r.number}. Your card ${r.targetSerial ?? ''} is on hold: nobody can use it now.`,
              );
              setStep({ name: 'devices' });
            });
          }}
        />
      );
      break;
    case 'personalize':
      body = (
        <Personalize
          device={step.device}
          job={step.job}
          retryAllowed={me?.issuanceRetryForUser ?? false}
          onDone={() => void done()}
        />
      );
      break;
    case 'mobile-id':
      body = <MobileId start={step.start} onDone={() => void done()} />;
      break;
    case 'devices':
      body = me && (
        <MyDevices
          me={me}
          onReport={(device) => {
            setNotice('');
            setStep({ name: 'report', device });
          }}
          onEnroll={(r) => {
            setNotice('');
            setStep({ name: 'card', requestId: r.id });
          }}
          onChangeQuestions={() => setStep({ name: 'questions', purpose: 'no-card', required: false })}
          onDone={() => void done()}
        />
      );
      break;
  }

  return (
    <section className="portal-card" aria-labelledby="portal-h">
      <h1 id="portal-h" ref={headingRef} tabIndex={-1}>
        {title}
      </h1>
      {notice && (
        <p className="notice" role="status">
          {notice}
        </p>
      )}
      {body}
      <ErrorPanel error={error} title="Something went wrong" />
    </section>
  );
}
