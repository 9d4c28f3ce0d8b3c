// Personalization as the person sees it (reference 000 steps 6–9): a progress bar while keys and
// certificates go onto the card; then their own PIN, set and confirmed against the policy's rules;
// then a confirmation and Done. On failure, a warning with Done and — only when the operator portal
// allows it — Retry.
import { useEffect, useRef, useState } from 'react';
import { ApiError } from '../api';
import { ErrorPanel } from '../components/ErrorPanel';
import { useAction } from '../hooks';
import { JobProgress, jobErrorOf } from '../issuance/JobProgress';
import { NewPinForm } from '../issuance/NewPinForm';
import { useJob } from '../issuance/useJob';
import type { Device, IssuanceJob } from '../types';
import { PORTAL_JOBS, portalApi } from './portal-api';
import { WhatHappened } from './WhatHappened';

interface Props {
  device: Device;
  job: IssuanceJob;
  retryAllowed: boolean;
  onDone: () => void;
}

export function Personalize({ device, job: initial, retryAllowed, onDone }: Props) {
  const [jobId] = useState(initial.id);
  const { job, error, restart, setJob } = useJob(jobId, initial, PORTAL_JOBS);
  const act = useAction();
  const current = job ?? initial;
  const headingRef = useRef<HTMLHeadingElement>(null);
  const stage = `${current.status}:${current.pinChangePending}`;
  const phone = device.type === 'mobile';

  // Each change of stage (running → PIN → ready, or failed) moves the focus to its heading, so a
  // screen reader announces it.
  const firstStage = useRef(stage);
  useEffect(() => {
    if (stage !== firstStage.current) headingRef.current?.focus();
  }, [stage]);

  /** Retry on the card where it is now: the person may have moved it, or come back on another computer. */
  const retry = async () => {
    const j = await act.run(async () => {
      const here = (await portalApi.cards()).items.find((c) => c.device?.id === current.deviceId);
      if (!here)
        throw new ApiError(
          0,
          'card_not_found',
          `Insert your card ${device.serial} into the reader, then choose Retry.`,
          undefined,
          '',
        );
      return portalApi.retry(current.id, { agentId: here.agentId, reader: here.reader });
    });
    if (j) restart(j);
  };

  if (current.status === 'failed')
    return (
      <div>
        <h2 ref={headingRef} tabIndex={-1}>
          {phone ? 'Your phone was not set up' : 'Your card was not set up'}
        </h2>
        <WhatHappened error={jobErrorOf(current)} step={current.step} />
        <p>
          {retryAllowed
            ? phone
              ? 'Keep the wallet open on your phone and choose Retry, or choose Done and contact your help desk.'
              : 'Make sure your card is in the reader and choose Retry, or choose Done and contact your help desk.'
            : 'Choose Done and contact your help desk; give them the details above.'}
        </p>
        <ErrorPanel error={act.error} title="Retry did not start" />
        <div className="portal-actions">
          {retryAllowed && (
            <button
              type="button"
              className="btn btn-primary btn-large"
              disabled={act.busy}
              onClick={() => void retry()}
            >
              {act.busy ? 'Retrying…' : 'Retry'}
            </button>
          )}
          <button type="button" className="btn btn-large" onClick={onDone}>
            Done
          </button>
        </div>
      </div>
    );

  if (current.status === 'cancelled')
    return (
      <div>
        <p className="portal-notice" role="alert">
          Your help desk cancelled the set-up of this card. Contact them to find out what to do next.
        </p>
        <div className="portal-actions">
          <button type="button" className="btn btn-large" onClick={onDone}>
            Done
          </button>
        </div>
      </div>
    );

  if (current.status === 'succeeded' && current.pinChangePending)
    return (
      <div>
        <h2 ref={headingRef} tabIndex={-1}>
          Choose your PIN
        </h2>
        <NewPinForm
          rules={() => portalApi.pinPolicy(current.id)}
          setPin={(pin, confirmation) => portalApi.setPin(current.id, pin, confirmation)}
          onDone={setJob}
          submitLabel="Continue"
        >
          Your card is personalized. Choose the PIN you will type each time you use it, and type it twice.
          Keep it to yourself: nobody from your organisation will ever ask for it.
        </NewPinForm>
      </div>
    );

  if (current.status === 'succeeded')
    return (
      <div>
        <h2 ref={headingRef} tabIndex={-1}>
          {phone ? 'Your phone is ready' : 'Your card is ready'}
        </h2>
        <p className="portal-success" role="status">
          {phone
            ? `Your phone’s wallet ${device.serial} is set up as a mobile smart card with your certificates and your new PIN.`
            : `Your smart card ${device.serial} is set up with your certificates and your new PIN. You can use it now.`}
        </p>
        <div className="portal-actions">
          <button type="button" className="btn btn-primary btn-large" onClick={onDone}>
            Done
          </button>
        </div>
      </div>
    );

  return (
    <div>
      <h2 ref={headingRef} tabIndex={-1}>
        {phone ? 'Personalizing your phone' : 'Personalizing your smart card'}
      </h2>
      <p>
        Keys are being made on your {phone ? 'phone' : 'card'} and certificates added. This takes a few
        seconds.
      </p>
      <JobProgress job={current} />
      <ErrorPanel error={error} title="Lost track of the progress; trying again" />
    </div>
  );
}
