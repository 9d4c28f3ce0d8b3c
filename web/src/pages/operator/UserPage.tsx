// The User page: who the person is, what they hold (devices, certificates), and what an operator
// may do about it (edit, suspend/reactivate/terminate, add a device, issue an initial password for
// the user portal).
import { useEffect, useState, type FormEvent } from 'react';
import { Link, useLocation, useParams } from 'react-router-dom';
import { api } from '../../api';
import { Badge } from '../../components/Badge';
import { ConfirmDialog } from '../../components/ConfirmDialog';
import { ErrorPanel } from '../../components/ErrorPanel';
import { KeyValueEditor, toPairs, toRecord, type Pair } from '../../components/KeyValueEditor';
import { RolesField } from '../../components/RolesField';
import { Loading, PageHeader, StatusMessage } from '../../components/Status';
import { deviceTypeLabel, formatDate, formatDateTime, humanize } from '../../format';
import { useAction, useLoad, useTitle } from '../../hooks';
import { useSession } from '../../session';
import { AddDeviceDialog } from '../../issuance/AddDeviceDialog';
import { DeviceIssuanceActions } from '../../issuance/DeviceIssuanceActions';
import { UserPhoto } from './UserPhoto';
import { IssuanceDialog } from '../../issuance/IssuanceDialog';
import type { IssuanceJob, Role, User, UserDevices as Devices, UserLifecycleAction } from '../../types';
import { type Loaded } from '../../hooks';
import { DeviceReplacementActions } from '../../replacement/DeviceReplacementActions';
import { DeviceHoldNote } from '../../replacement/HoldNote';
import { useDeviceHolds, type HoldsByDevice } from '../../replacement/holds';
import { InitialPasswordDialog } from './InitialPasswordDialog';
import { UserCertificates } from './UserCertificates';
import { SignInDelays } from './SignInDelays';
import { UserMobileIds } from './UserMobileIds';
import { RetryButton } from '../../components/ListTable';
import { useStackTable } from '../../components/stack-table';

const LIFECYCLE: Record<
  UserLifecycleAction,
  { label: string; from: User['state'][]; danger: boolean; explain: string }
> = {
  suspend: {
    label: 'Suspend',
    from: ['active'],
    danger: false,
    explain: 'A suspended user cannot sign in or use the user portal until reactivated.',
  },
  reactivate: {
    label: 'Reactivate',
    from: ['suspended'],
    danger: false,
    explain: 'The user can sign in and use the user portal again.',
  },
  terminate: {
    label: 'Terminate',
    from: ['active', 'suspended'],
    danger: true,
    explain:
      'Termination is final: the user can never sign in again. Their devices and certificates must be dealt with separately.',
  },
};

export function UserPage() {
  const { id = '' } = useParams();
  const { can } = useSession();
  const location = useLocation();
  const user = useLoad(() => api.users.get(id), [id]);
  const [editing, setEditing] = useState(false);
  const [pending, setPending] = useState<UserLifecycleAction | null>(null);
  const [reason, setReason] = useState('');
  const [addDevice, setAddDevice] = useState(false);
  const [initialPassword, setInitialPassword] = useState(false);
  const [running, setRunning] = useState<IssuanceJob | null>(null);
  // Bumped when an issuance starts or ends, so the device and certificate lists read again.
  const [refresh, setRefresh] = useState(0);
  const [status, setStatus] = useState(
    (location.state as { created?: boolean } | null)?.created ? 'User created.' : '',
  );
  const lifecycle = useAction();
  useTitle(user.data ? user.data.displayName : 'User');
  const devices = useLoad(() => api.users.devices(id), [id, refresh]);
  // Why each device and certificate is on hold (replacement requests, suspensions).
  const holds = useDeviceHolds(devices.data?.items, devices.data);

  if (user.error && !user.data)
    return (
      <>
        <BackToUsers />
        <ErrorPanel
          error={user.error}
          title="Could not load this user"
          actions={<RetryButton onClick={user.reload} />}
        />
      </>
    );
  if (!user.data) return <Loading what="Loading user" />;
  const u = user.data;

  const confirmLifecycle = async () => {
    if (!pending) return;
    const updated = await lifecycle.run(() => api.users.lifecycle(u.id, pending, reason.trim() || undefined));
    if (updated) {
      user.setData(updated);
      setStatus(`${LIFECYCLE[pending].label}: done. The user is now ${updated.state}.`);
      setPending(null);
      setReason('');
    }
  };

  return (
    <>
      <BackToUsers />
      <PageHeader
        title={u.displayName}
        intro={
          <>
            <span className="mono">{u.username}</span> · <Badge value={u.state} />
          </>
        }
        actions={
          <>
            {can('user.lifecycle') &&
              (Object.keys(LIFECYCLE) as UserLifecycleAction[])
                .filter((a) => LIFECYCLE[a].from.includes(u.state))
                .map((a) => (
                  <button
                    key={a}
                    type="button"
                    className={`btn ${LIFECYCLE[a].danger ? 'btn-danger-outline' : ''}`}
                    onClick={() => {
                      lifecycle.clear();
                      setPending(a);
                    }}
                  >
                    {LIFECYCLE[a].label}
                  </button>
                ))}
            {u.state === 'active' && can('initial_password.issue') && (
              <button type="button" className="btn" onClick={() => setInitialPassword(true)}>
                Issue initial password
              </button>
            )}
            {u.state === 'active' && (can('device.issue') || can('device.bind')) && (
              <button type="button" className="btn btn-primary" onClick={() => setAddDevice(true)}>
                Add Device
              </button>
            )}
          </>
        }
      />
      <StatusMessage>{status}</StatusMessage>

      <section className="card" aria-labelledby="details-h">
        <div className="card__head">
          <h2 id="details-h">Details</h2>
          {can('user.update') && !editing && u.state !== 'terminated' && (
            <button type="button" className="btn btn-small" onClick={() => setEditing(true)}>
              Edit
            </button>
          )}
        </div>
        {editing ? (
          <UserEditForm
            user={u}
            onCancel={() => setEditing(false)}
            onSaved={(saved) => {
              user.setData(saved);
              setEditing(false);
              setStatus('Changes saved.');
            }}
          />
        ) : (
          <UserDetails user={u} />
        )}
      </section>

      <UserPhoto userId={u.id} name={u.displayName} />

      <UserDevices
        devices={devices}
        holds={holds.data}
        personName={u.displayName}
        onChanged={(message?: string) => {
          if (message) setStatus(message);
          setRefresh((r) => r + 1);
        }}
      />
      {can('certificate.read') && <UserCertificates userId={u.id} refresh={refresh} holds={holds.data} />}
      {can('device.read') && <UserMobileIds userId={u.id} />}
      <SignInDelays username={u.username} />

      <ConfirmDialog
        open={pending !== null}
        title={pending ? `${LIFECYCLE[pending].label} ${u.displayName}?` : ''}
        confirmLabel={pending ? LIFECYCLE[pending].label : ''}
        danger={pending ? LIFECYCLE[pending].danger : false}
        busy={lifecycle.busy}
        error={lifecycle.error}
        onConfirm={() => void confirmLifecycle()}
        onCancel={() => {
          setPending(null);
          setReason('');
        }}
      >
        {pending && <p>{LIFECYCLE[pending].explain}</p>}
        <div className="field">
          <label htmlFor="lifecycle-reason">Reason (recorded in the audit log)</label>
          <input id="lifecycle-reason" value={reason} onChange={(e) => setReason(e.target.value)} />
        </div>
      </ConfirmDialog>

      {addDevice && (
        <AddDeviceDialog
          user={u}
          onClose={() => setAddDevice(false)}
          onStarted={(device, job) => {
            setAddDevice(false);
            setRefresh((r) => r + 1);
            if (job) setRunning(job);
            else setStatus(`Device ${device.serial} is bound to ${u.displayName}.`);
          }}
        />
      )}
      {initialPassword && <InitialPasswordDialog user={u} onClose={() => setInitialPassword(false)} />}
      {running && (
        <IssuanceDialog
          jobId={running.id}
          initial={running}
          onSettled={() => setRefresh((r) => r + 1)}
          onClose={() => {
            setRunning(null);
            setRefresh((r) => r + 1);
          }}
        />
      )}
    </>
  );
}

function BackToUsers() {
  return (
    <p className="back-link">
      <Link to="/operator">← Users</Link>
    </p>
  );
}

function UserDetails({ user: u }: { user: User }) {
  const props = Object.entries(u.properties);
  return (
    <dl className="details">
      <dt>Username</dt>
      <dd className="mono">{u.username}</dd>
      <dt>Display name</dt>
      <dd>{u.displayName}</dd>
      <dt>E-mail</dt>
      <dd>{u.email ?? <span className="muted">none</span>}</dd>
      <dt>Source</dt>
      <dd>{u.source === 'ldap' ? 'Directory (LDAP)' : 'Local'}</dd>
      <dt>Roles</dt>
      <dd>{u.roles.length ? u.roles.map(humanize).join(', ') : <span className="muted">none</span>}</dd>
      <dt>Properties</dt>
      <dd>
        {props.length === 0 ? (
          <span className="muted">none</span>
        ) : (
          <dl className="details details--inner">
            {props.map(([k, v]) => (
              <div key={k} className="details__pair">
                <dt>{k}</dt>
                <dd>{v}</dd>
              </div>
            ))}
          </dl>
        )}
      </dd>
      <dt>Created</dt>
      <dd>{formatDateTime(u.createdAt)}</dd>
      <dt>Last changed</dt>
      <dd>{formatDateTime(u.updatedAt)}</dd>
    </dl>
  );
}

function UserEditForm({
  user,
  onCancel,
  onSaved,
}: {
  user: User;
  onCancel: () => void;
  onSaved: (u: User) => void;
}) {
  const [displayName, setDisplayName] = useState(user.displayName);
  const [email, setEmail] = useState(user.email ?? '');
  const [roles, setRoles] = useState<Role[]>(user.roles);
  const [pairs, setPairs] = useState<Pair[]>(toPairs(user.properties));
  const action = useAction();

  useEffect(() => {
    document.getElementById('ue-display')?.focus();
  }, []);

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    const saved = await action.run(() =>
      api.users.update(user.id, {
        displayName: displayName.trim(),
        // An emptied field removes the address; an untouched empty one is left alone.
        ...(email.trim() ? { email: email.trim() } : user.email ? { email: null } : {}),
        roles,
        properties: toRecord(pairs),
      }),
    );
    if (saved) onSaved(saved);
  };

  return (
    <form className="form" onSubmit={(e) => void submit(e)}>
      <div className="form-grid">
        <div className="field">
          <label htmlFor="ue-display">Display name</label>
          <input
            id="ue-display"
            required
            value={displayName}
            onChange={(e) => setDisplayName(e.target.value)}
          />
        </div>
        <div className="field">
          <label htmlFor="ue-email">E-mail</label>
          <input id="ue-email" type="email" value={email} onChange={(e) => setEmail(e.target.value)} />
        </div>
      </div>
      <RolesField value={roles} onChange={setRoles} />
      <KeyValueEditor pairs={pairs} onChange={setPairs} />
      <ErrorPanel error={action.error} title="The changes were not saved" />
      <div className="form-actions">
        <button type="button" className="btn" onClick={onCancel}>
          Cancel
        </button>
        <button type="submit" className="btn btn-primary" disabled={action.busy}>
          {action.busy ? 'Saving…' : 'Save changes'}
        </button>
      </div>
    </form>
  );
}

function UserDevices({
  devices,
  holds,
  personName,
  onChanged,
}: {
  devices: Loaded<Devices>;
  holds: HoldsByDevice | undefined;
  personName: string;
  onChanged: (message?: string) => void;
}) {
  const { can } = useSession();
  const stack = useStackTable();
  const policies = useLoad(
    () => (can('policy.read') ? api.policies.list() : Promise.resolve({ items: [], total: 0 })),
    [],
  );
  const policyName = (id: string | null) =>
    id ? (policies.data?.items.find((p) => p.id === id)?.name ?? id) : <span className="muted">—</span>;
  return (
    <section className="card" aria-labelledby="devices-h">
      <div className="card__head">
        <h2 id="devices-h">Devices</h2>
      </div>
      <ErrorPanel
        error={devices.error}
        title="Could not load the devices"
        actions={<RetryButton onClick={devices.reload} />}
      />
      {devices.loading && !devices.data && <Loading what="Loading devices" />}
      {devices.data &&
        (devices.data.items.length === 0 ? (
          <p className="muted">No devices assigned to this user.</p>
        ) : (
          <div className="table-wrap">
            <table ref={stack} className="table table--stack">
              <caption className="visually-hidden">Devices of this user</caption>
              <thead>
                <tr>
                  <th scope="col">Type</th>
                  <th scope="col">Serial</th>
                  <th scope="col">State</th>
                  <th scope="col">Policy</th>
                  <th scope="col">Issued</th>
                  <th scope="col">Expires</th>
                  <th scope="col">Actions</th>
                </tr>
              </thead>
              <tbody>
                {devices.data.items.map((d) => (
                  <tr key={d.id}>
                    <td>{deviceTypeLabel(d.type)}</td>
                    <td className="mono">{d.serial}</td>
                    <td>
                      <Badge value={d.state} />
                      <DeviceHoldNote holds={holds?.get(d.id)} />
                    </td>
                    <td>{policyName(d.policyId)}</td>
                    <td>{formatDateTime(d.issuedAt)}</td>
                    <td>{formatDate(d.expiresAt)}</td>
                    <td>
                      <div className="row-actions">
                        <DeviceIssuanceActions device={d} onChanged={() => onChanged()} />
                        <DeviceReplacementActions
                          device={d}
                          holds={holds?.get(d.id)}
                          personName={personName}
                          onChanged={onChanged}
                        />
                      </div>
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        ))}
    </section>
  );
}
