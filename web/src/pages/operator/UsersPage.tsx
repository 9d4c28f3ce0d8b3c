// Users: search and filter the people Tessera knows, and create a local user.
import { useState, type FormEvent } from 'react';
import { Link, useNavigate } from 'react-router-dom';
import { api } from '../../api';
import { Badge } from '../../components/Badge';
import { Dialog } from '../../components/Dialog';
import { ListTable, SelectFilter } from '../../components/ListTable';
import { ErrorPanel } from '../../components/ErrorPanel';
import { KeyValueEditor, toRecord, type Pair } from '../../components/KeyValueEditor';
import { RolesField } from '../../components/RolesField';
import { SearchBox } from '../../components/SearchBox';
import { PageHeader } from '../../components/Status';
import { useListParams } from '../../components/useListParams';
import { formatDate, humanize } from '../../format';
import { useAction, useLoad, useTitle } from '../../hooks';
import { useSession } from '../../session';
import { ROLES, USER_STATES, type Role } from '../../types';

const LIMIT = 25;

export function UsersPage() {
  useTitle('Users');
  const { can } = useSession();
  const { values, offset, setFilter, setOffset } = useListParams(['q', 'state', 'role'] as const);
  const [creating, setCreating] = useState(false);
  const list = useLoad(
    () => api.users.list({ q: values.q, state: values.state, role: values.role, limit: LIMIT, offset }),
    [values.q, values.state, values.role, offset],
  );

  return (
    <>
      <PageHeader
        title="Users"
        intro="People who hold devices and credentials, and the operators who manage them."
        actions={
          can('user.create') && (
            <button type="button" className="btn btn-primary" onClick={() => setCreating(true)}>
              New user
            </button>
          )
        }
      />
      <form className="filters" role="search" aria-label="Filter users" onSubmit={(e) => e.preventDefault()}>
        <SearchBox
          id="users-q"
          label="Search users"
          placeholder="Username, name or e-mail"
          value={values.q}
          onSearch={(q) => setFilter('q', q)}
        />
        <SelectFilter
          id="users-state"
          label="State"
          value={values.state}
          onChange={(v) => setFilter('state', v)}
          any="Any state"
          options={USER_STATES.map((s) => ({ value: s, label: humanize(s) }))}
        />
        <SelectFilter
          id="users-role"
          label="Role"
          value={values.role}
          onChange={(v) => setFilter('role', v)}
          any="Any role"
          options={ROLES.map((r) => ({ value: r, label: humanize(r) }))}
        />
      </form>

      <ListTable
        list={list}
        caption="Users"
        errorTitle="Could not load users"
        loadingText="Loading users"
        emptyText="No users match these filters."
        columns={['Username', 'Name', 'E-mail', 'Roles', 'State', 'Source', 'Created']}
        row={(u) => (
          <tr key={u.id}>
            <td>
              <Link to={`/operator/users/${u.id}`}>{u.username}</Link>
            </td>
            <td>{u.displayName}</td>
            <td>{u.email ?? <span className="muted">—</span>}</td>
            <td>{u.roles.map(humanize).join(', ') || <span className="muted">none</span>}</td>
            <td>
              <Badge value={u.state} />
            </td>
            <td>{u.source === 'ldap' ? 'Directory' : 'Local'}</td>
            <td>{formatDate(u.createdAt)}</td>
          </tr>
        )}
        limit={LIMIT}
        offset={offset}
        onOffset={setOffset}
      />
      <NewUserDialog open={creating} onClose={() => setCreating(false)} />
    </>
  );
}

function NewUserDialog({ open, onClose }: { open: boolean; onClose: () => void }) {
  const navigate = useNavigate();
  const [username, setUsername] = useState('');
  const [displayName, setDisplayName] = useState('');
  const [email, setEmail] = useState('');
  const [roles, setRoles] = useState<Role[]>(['user']);
  const [pairs, setPairs] = useState<Pair[]>([]);
  const action = useAction();

  const close = () => {
    action.clear();
    onClose();
  };

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    const user = await action.run(() =>
      api.users.create({
        username: username.trim(),
        displayName: displayName.trim(),
        ...(email.trim() ? { email: email.trim() } : {}),
        roles,
        properties: toRecord(pairs),
      }),
    );
    if (user) {
      setUsername('');
      setDisplayName('');
      setEmail('');
      setRoles(['user']);
      setPairs([]);
      onClose();
      navigate(`/operator/users/${user.id}`, { state: { created: true } });
    }
  };

  return (
    <Dialog
      open={open}
      title="New user"
      onClose={close}
      wide
      footer={
        <>
          <button type="button" className="btn" onClick={close}>
            Cancel
          </button>
          <button type="submit" form="new-user-form" className="btn btn-primary" disabled={action.busy}>
            {action.busy ? 'Creating…' : 'Create user'}
          </button>
        </>
      }
    >
      <form id="new-user-form" className="form" onSubmit={(e) => void submit(e)}>
        <div className="form-grid">
          <div className="field">
            <label htmlFor="nu-username">Username</label>
            <input
              id="nu-username"
              required
              autoComplete="off"
              value={username}
              onChange={(e) => setUsername(e.target.value)}
            />
          </div>
          <div className="field">
            <label htmlFor="nu-display">Display name</label>
            <input
              id="nu-display"
              required
              value={displayName}
              onChange={(e) => setDisplayName(e.target.value)}
            />
          </div>
          <div className="field">
            <label htmlFor="nu-email">E-mail (optional)</label>
            <input id="nu-email" type="email" value={email} onChange={(e) => setEmail(e.target.value)} />
          </div>
        </div>
        <RolesField value={roles} onChange={setRoles} />
        <KeyValueEditor pairs={pairs} onChange={setPairs} />
      </form>
      <ErrorPanel error={action.error} title="The user was not created" />
    </Dialog>
  );
}
