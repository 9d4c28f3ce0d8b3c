// The directory (LDAP) connection: where Tessera finds people, how their attributes become Tessera
// users, which groups grant which roles — plus Test connection and Sync now. Each section of the
// form (directory/) keeps its own piece of the settings, knows how it is sent and what the server
// would refuse in it; this page joins them for saving and says whether anything is unsaved.
import { useState, type FormEvent } from 'react';
import { api } from '../../api';
import { ErrorPanel } from '../../components/ErrorPanel';
import { RetryButton } from '../../components/ListTable';
import { Loading, PageHeader, StatusMessage } from '../../components/Status';
import { formatDateTime } from '../../format';
import { useAction, useLoad, useTitle } from '../../hooks';
import { useSession } from '../../session';
import type { DirectoryConfig, DirectoryInput, DirectoryView } from '../../types';
import {
  ConnectionSection,
  connectionConfig,
  connectionOf,
  connectionProblems,
  type Connection,
} from './directory/ConnectionSection';
import {
  GroupsSection,
  groupsConfig,
  groupsOf,
  groupsProblems,
  type Groups,
} from './directory/GroupsSection';
import {
  PeopleSection,
  peopleConfig,
  peopleOf,
  peopleProblems,
  type People,
} from './directory/PeopleSection';
import {
  ServiceAccountSection,
  bindPasswordChange,
  serviceAccountConfig,
  serviceAccountOf,
  type ServiceAccount,
} from './directory/ServiceAccountSection';
import { TestAndSyncSection } from './directory/TestAndSyncSection';

export function DirectoryPage() {
  useTitle('Directory (LDAP)');
  const loaded = useLoad(() => api.directory.get(), []);
  return (
    <>
      <PageHeader
        title="Directory (LDAP)"
        intro="Import people from an LDAP directory, keep them up to date, and let them sign in to the user portal with their directory password."
      />
      <ErrorPanel
        error={loaded.error}
        title="Could not load the directory settings"
        actions={<RetryButton onClick={loaded.reload} />}
      />
      {loaded.loading && !loaded.data && <Loading what="Loading directory settings" />}
      {loaded.data && <DirectoryForm initial={loaded.data} />}
    </>
  );
}

interface Parts {
  connection: Connection;
  account: ServiceAccount;
  people: People;
  groups: Groups;
}

const partsOf = (v: DirectoryView): Parts => ({
  connection: connectionOf(v),
  account: serviceAccountOf(v),
  people: peopleOf(v),
  groups: groupsOf(v),
});

const configOf = (p: Parts): DirectoryConfig => ({
  ...connectionConfig(p.connection),
  ...serviceAccountConfig(p.account),
  ...peopleConfig(p.people),
  ...groupsConfig(p.groups),
});

function DirectoryForm({ initial }: { initial: DirectoryView }) {
  const { can } = useSession();
  const [view, setView] = useState<DirectoryView>(initial);
  const [connection, setConnection] = useState(() => connectionOf(initial));
  const [account, setAccount] = useState(() => serviceAccountOf(initial));
  const [people, setPeople] = useState(() => peopleOf(initial));
  const [groups, setGroups] = useState(() => groupsOf(initial));
  const [problems, setProblems] = useState<string[]>([]);
  const [status, setStatus] = useState('');
  const [checking, setChecking] = useState(false);
  const save = useAction();

  /** A change in any section makes the last "saved" message stale. */
  const changing =
    <T,>(set: (v: T) => void) =>
    (v: T) => {
      setStatus('');
      set(v);
    };
  const parts: Parts = { connection, account, people, groups };
  const dirty =
    JSON.stringify(configOf(parts)) !== JSON.stringify(configOf(partsOf(view))) ||
    account.password !== '' ||
    account.removePassword;
  const busy = save.busy || checking;

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setStatus('');
    const found = [
      ...connectionProblems(connection),
      ...peopleProblems(people, connection.enabled),
      ...groupsProblems(groups),
    ];
    setProblems(found);
    if (found.length) return;
    const body: DirectoryInput = { ...configOf(parts), ...bindPasswordChange(account) };
    const saved = await save.run(() => api.directory.put(body));
    if (saved) {
      const kept = partsOf(saved);
      setView(saved);
      setConnection(kept.connection);
      setAccount(kept.account);
      setPeople(kept.people);
      setGroups(kept.groups);
      setStatus(
        saved.enabled ? 'Directory settings saved.' : 'Directory settings saved (the directory is disabled).',
      );
    }
  };

  return (
    <>
      <form className="form form-narrow" onSubmit={(e) => void submit(e)} noValidate>
        <ConnectionSection value={connection} onChange={changing(setConnection)} />
        <ServiceAccountSection
          value={account}
          onChange={changing(setAccount)}
          hasBindPassword={view.hasBindPassword}
        />
        <PeopleSection value={people} onChange={changing(setPeople)} />
        <GroupsSection value={groups} onChange={changing(setGroups)} />

        {problems.length > 0 && (
          <div className="error-panel" role="alert">
            <div className="error-panel__head">
              <strong>Check these settings before saving</strong>
            </div>
            <ul className="error-panel__issues">
              {problems.map((p) => (
                <li key={p}>{p}</li>
              ))}
            </ul>
          </div>
        )}
        <ErrorPanel error={save.error} title="The directory settings were not saved" onDismiss={save.clear} />
        <StatusMessage>{status}</StatusMessage>
        <div className="form-actions">
          <span className="muted small">
            {view.updatedAt ? `Last saved ${formatDateTime(view.updatedAt)}` : 'Not configured yet'}
          </span>
          <button type="submit" className="btn btn-primary" disabled={busy || !can('directory.manage')}>
            {save.busy ? 'Saving…' : 'Save directory settings'}
          </button>
        </div>
      </form>

      <TestAndSyncSection view={view} dirty={dirty} saving={save.busy} onBusy={setChecking} />
    </>
  );
}
