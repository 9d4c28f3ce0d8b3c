// The user portal's Welcome page: Start (I have my card) or "I don't have my smart card".
// Neither flow exists in this release, so each button says plainly what happens next and what
// to do meanwhile, rather than pretending.
import { useEffect, useRef, useState } from 'react';
import { useTitle } from '../../hooks';

type Step = 'welcome' | 'start' | 'no-card';

export function PortalWelcome() {
  useTitle('User portal');
  const [step, setStep] = useState<Step>('welcome');
  const headingRef = useRef<HTMLHeadingElement>(null);

  useEffect(() => {
    if (step !== 'welcome') headingRef.current?.focus();
  }, [step]);

  if (step === 'start')
    return (
      <section className="portal-card" aria-labelledby="portal-h">
        <h1 id="portal-h" ref={headingRef} tabIndex={-1}>
          Set up your smart card
        </h1>
        <ol className="portal-steps">
          <li>Insert the card you were given into this computer's card reader.</li>
          <li>
            Prove who you are — with the initial password you received, your directory password, or your
            security questions, as your organisation has chosen.
          </li>
          <li>Tessera puts your credentials on the card while a progress bar runs.</li>
          <li>Choose your own PIN, and you are done.</li>
        </ol>
        <p className="portal-notice" role="status">
          Self-service issuance is not available on this server yet: it needs the Tessera agent on this
          computer, which comes in the next release. Until then, your help desk can issue your card for you.
        </p>
        <div className="portal-actions">
          <button type="button" className="btn btn-large" onClick={() => setStep('welcome')}>
            Back
          </button>
        </div>
      </section>
    );

  if (step === 'no-card')
    return (
      <section className="portal-card" aria-labelledby="portal-h">
        <h1 id="portal-h" ref={headingRef} tabIndex={-1}>
          Without your smart card
        </h1>
        <p>If your card is lost, stolen, damaged, expired or left at home, you can declare it here:</p>
        <ul>
          <li>a lost or stolen card is suspended at once, so nobody else can use it;</li>
          <li>a forgotten card can be covered by a temporary one for the day;</li>
          <li>a replacement card is then prepared for you.</li>
        </ul>
        <p className="portal-notice" role="status">
          Declaring an incident from the portal is not available on this server yet. Contact your help desk
          now — they can suspend your card and request a replacement for you.
        </p>
        <div className="portal-actions">
          <button type="button" className="btn btn-large" onClick={() => setStep('welcome')}>
            Back
          </button>
        </div>
      </section>
    );

  return (
    <section className="portal-card" aria-labelledby="portal-h">
      <h1 id="portal-h">Welcome</h1>
      <p className="portal-lead">
        Here you can set up your smart card yourself, or get help when you don't have it with you.
      </p>
      <p>
        Have your card at hand. If you are using it for the first time, also have the initial password you
        received.
      </p>
      <div className="portal-actions">
        <button type="button" className="btn btn-primary btn-large" onClick={() => setStep('start')}>
          Start
        </button>
        <button type="button" className="btn btn-large" onClick={() => setStep('no-card')}>
          I don't have my smart card
        </button>
      </div>
    </section>
  );
}
