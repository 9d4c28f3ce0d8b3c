// One device policy, created or edited. The form checks nothing the server also checks: it sends
// what was entered and shows the server's list of problems beside the form, so there is exactly
// one set of rules (services/policy-service on the server). Each section of the form keeps its own
// piece of the policy (policy/policy-draft.ts); saving joins them.
import { useEffect, useState, type FormEvent } from 'react';
import { Link, useLocation, useNavigate, useParams } from 'react-router-dom';
import { api } from '../../api';
import { ErrorPanel } from '../../components/ErrorPanel';
import { RetryButton } from '../../components/ListTable';
import { Loading, PageHeader, StatusMessage } from '../../components/Status';
import { formatDateTime } from '../../format';
import { useAction, useLoad, useTitle } from '../../hooks';
import { useSession } from '../../session';
import type { Policy } from '../../types';
import { CredentialProfilesSection } from './policy/CredentialProfilesSection';
import { GeneralSection } from './policy/GeneralSection';
import { PinSection } from './policy/PinSection';
import { bodyOf, draftOf } from './policy/policy-draft';

export function PolicyEditorPage() {
  const { id = 'new' } = useParams();
  const isNew = id === 'new';
  const loaded = useLoad(() => (isNew ? Promise.resolve(null) : api.policies.get(id)), [id]);
  useTitle(isNew ? 'New device policy' : (loaded.data?.name ?? 'Device policy'));

  if (loaded.error)
    return (
      <>
        <BackToPolicies />
        <ErrorPanel
          error={loaded.error}
          title="Could not load this policy"
          actions={<RetryButton onClick={loaded.reload} />}
        />
      </>
    );
  if (loaded.loading || loaded.data === undefined) return <Loading what="Loading policy" />;
  return <PolicyForm key={id} policy={loaded.data} />;
}

function BackToPolicies() {
  return (
    <p className="back-link">
      <Link to="/operator/policies">← Device policies</Link>
    </p>
  );
}

function PolicyForm({ policy }: { policy: Policy | null }) {
  const { can } = useSession();
  const navigate = useNavigate();
  const location = useLocation();
  const [saved, setSaved] = useState<Policy | null>(policy);
  const [general, setGeneral] = useState(() => draftOf(policy).general);
  const [credentialProfiles, setCredentialProfiles] = useState(() => draftOf(policy).credentialProfiles);
  const [pin, setPin] = useState(() => draftOf(policy).pin);
  const [status, setStatus] = useState(
    (location.state as { created?: boolean } | null)?.created ? 'Policy created.' : '',
  );
  const action = useAction();
  const readOnly = !can('policy.write');

  useEffect(() => {
    if (action.error) document.getElementById('policy-errors')?.scrollIntoView({ block: 'nearest' });
  }, [action.error]);

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setStatus('');
    const body = bodyOf({ general, credentialProfiles, pin });
    const result = await action.run(() =>
      saved ? api.policies.update(saved.id, body) : api.policies.create(body),
    );
    if (!result) return;
    if (!saved) {
      navigate(`/operator/policies/${result.id}`, { replace: true, state: { created: true } });
      return;
    }
    // What the server kept is what the sections show next.
    const kept = draftOf(result);
    setSaved(result);
    setGeneral(kept.general);
    setCredentialProfiles(kept.credentialProfiles);
    setPin(kept.pin);
    setStatus(`Saved. The policy is now at version ${result.version}.`);
  };

  return (
    <>
      <BackToPolicies />
      <PageHeader
        title={saved ? saved.name : 'New device policy'}
        intro={
          saved
            ? `Version ${saved.version}, last changed ${formatDateTime(saved.updatedAt)}.`
            : 'Describe what devices issued under this policy receive.'
        }
      />
      <form
        className="form policy-form"
        onSubmit={(e) => void submit(e)}
        noValidate
        aria-describedby="policy-errors"
      >
        <fieldset disabled={readOnly} className="plain">
          <GeneralSection value={general} onChange={setGeneral} />
          <CredentialProfilesSection
            value={credentialProfiles}
            onChange={setCredentialProfiles}
            deviceValidityDays={pin.deviceValidityDays}
          />
          <PinSection value={pin} onChange={setPin} deviceTypes={general.deviceTypes} />
        </fieldset>

        <div id="policy-errors">
          <ErrorPanel error={action.error} title="The policy was not saved" onDismiss={action.clear} />
        </div>
        <StatusMessage>{status}</StatusMessage>
        {!readOnly && (
          <div className="form-actions">
            <Link className="btn" to="/operator/policies">
              Back to the list
            </Link>
            <button type="submit" className="btn btn-primary" disabled={action.busy}>
              {action.busy ? 'Saving…' : saved ? 'Save policy' : 'Create policy'}
            </button>
          </div>
        )}
      </form>
    </>
  );
}
