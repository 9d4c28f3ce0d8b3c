// The directory (LDAP) connection: where Tessera finds people, how their attributes become Tessera
// users, which groups grant which roles — plus Test connection and Sync now. The bind password is
// write-only: the server never returns it (only whether one is set), and this page never puts it
// back into a field; after a save the typed password is forgotten.
import { useId, useState, type FormEvent } from 'react';
import { Link } from 'react-router-dom';
import { api } from '../../api';
import { ErrorPanel } from '../../components/ErrorPanel';
import { TextField } from '../../components/TextField';
import { NumberField } from '../../components/NumberInput';
import { Loading, PageHeader, StatusMessage } from '../../components/Status';
import { formatDateTime, humanize } from '../../format';
import { useAction, useLoad, useTitle } from '../../hooks';
import { useSession } from '../../session';
import {
  ROLES,
  type DirectoryConfig,
  type DirectoryInput,
  type DirectorySyncReport,
  type DirectoryTestResult,
  type DirectoryView,
  type Role,
} from '../../types';
import { RetryButton } from '../../components/ListTable';

/** The form's state: the config with optional texts as strings ('' = none) and editable rows. */
interface Form {
  enabled: boolean;
  url: string;
  startTls: boolean;
  tlsVerify: boolean;
  caCertificatePem: string;
  bindDn: string;
  baseDn: string;
  userFilter: string;
  externalId: DirectoryConfig['externalId'];
  username: string;
  displayName: string;
  email: string;
  properties: { name: string; attribute: string }[];
  groupsBaseDn: string;
  groupsFilter: string;
  memberAttribute: string;
  groupRoles: { group: string; roles: Role[] }[];
  timeoutSeconds: number;
}

// Everyone imported is a user; the mapping grants the other roles.
const GRANTABLE = ROLES.filter((r) => r !== 'user');

function toForm(v: DirectoryView): Form {
  return {
    enabled: v.enabled,
    url: v.url,
    startTls: v.startTls,
    tlsVerify: v.tlsVerify,
    caCertificatePem: v.caCertificatePem ?? '',
    bindDn: v.bindDn,
    baseDn: v.baseDn,
    userFilter: v.userFilter,
    externalId: v.externalId,
    username: v.attributes.username,
    displayName: v.attributes.displayName,
    email: v.attributes.email ?? '',
    properties: Object.entries(v.properties).map(([name, attribute]) => ({ name, attribute })),
    groupsBaseDn: v.groups.baseDn ?? '',
    groupsFilter: v.groups.filter,
    memberAttribute: v.groups.memberAttribute,
    groupRoles: v.groupRoles.map((g) => ({ group: g.group, roles: [...g.roles] })),
    timeoutSeconds: v.timeoutSeconds,
  };
}

function toConfig(f: Form): DirectoryConfig {
  const orNull = (s: string) => (s.trim() ? s.trim() : null);
  return {
    enabled: f.enabled,
    url: f.url.trim(),
    startTls: f.startTls,
    tlsVerify: f.tlsVerify,
    caCertificatePem: orNull(f.caCertificatePem),
    bindDn: f.bindDn.trim(),
    baseDn: f.baseDn.trim(),
    userFilter: f.userFilter.trim(),
    externalId: f.externalId,
    attributes: { username: f.username.trim(), displayName: f.displayName.trim(), email: orNull(f.email) },
    properties: Object.fromEntries(
      f.properties.filter((p) => p.name.trim()).map((p) => [p.name.trim(), p.attribute.trim()]),
    ),
    groups: {
      baseDn: orNull(f.groupsBaseDn),
      filter: f.groupsFilter.trim(),
      memberAttribute: f.memberAttribute.trim(),
    },
    groupRoles: f.groupRoles.map((g) => ({ group: g.group.trim(), roles: g.roles })),
    timeoutSeconds: f.timeoutSeconds,
  };
}

/** What the server's schema would refuse, said per field before sending. */
function formProblems(f: Form): string[] {
  const out: string[] = [];
  if (!/^ldaps?:\/\/.+/i.test(f.url.trim())) out.push('The URL must start with ldap:// or ldaps://.');
  if (/^ldaps:/i.test(f.url.trim()) && f.startTls)
    out.push('StartTLS is for ldap:// URLs: an ldaps:// connection is already encrypted.');
  if (f.enabled && !f.baseDn.trim()) out.push('Enter the base DN under which people are found.');
  if (f.userFilter.trim().length < 3) out.push('Enter a user filter, e.g. (objectClass=inetOrgPerson).');
  if (!f.username.trim() || !f.displayName.trim())
    out.push('Name the attributes that hold the username and the display name.');
  f.properties.forEach((p, i) => {
    if (!p.name.trim() && !p.attribute.trim()) return;
    if (!/^[A-Za-z][A-Za-z0-9_.-]*$/.test(p.name.trim()))
      out.push(`Property ${i + 1}: the Tessera name must start with a letter (letters, digits, _ . -).`);
    if (!p.attribute.trim()) out.push(`Property ${i + 1}: name the LDAP attribute it comes from.`);
  });
  f.groupRoles.forEach((g, i) => {
    if (g.group.trim().length < 3) out.push(`Group mapping ${i + 1}: enter the group's DN.`);
    if (g.roles.length === 0) out.push(`Group mapping ${i + 1}: choose at least one role.`);
  });
  if (!Number.isInteger(f.timeoutSeconds) || f.timeoutSeconds < 1 || f.timeoutSeconds > 120)
    out.push('The timeout must be 1–120 seconds.');
  return out;
}

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

function DirectoryForm({ initial }: { initial: DirectoryView }) {
  const { can } = useSession();
  const base = useId();
  const id = (name: string) => `${base}-${name}`;
  const [view, setView] = useState<DirectoryView>(initial);
  const [f, setF] = useState<Form>(() => toForm(initial));
  // Write-only: typed here, sent once, then cleared. Never filled from the server.
  const [password, setPassword] = useState('');
  const [removePassword, setRemovePassword] = useState(false);
  const [problems, setProblems] = useState<string[]>([]);
  const [status, setStatus] = useState('');
  const [tested, setTested] = useState<DirectoryTestResult | null>(null);
  const [report, setReport] = useState<DirectorySyncReport | null>(null);
  const save = useAction();
  const test = useAction();
  const sync = useAction();

  const set = <K extends keyof Form>(key: K, value: Form[K]) => {
    setStatus('');
    setF((prev) => ({ ...prev, [key]: value }));
  };
  const dirty =
    JSON.stringify(toConfig(f)) !== JSON.stringify(toConfig(toForm(view))) ||
    password !== '' ||
    removePassword;
  const busy = save.busy || test.busy || sync.busy;
  const encrypted = /^ldaps:/i.test(f.url.trim()) || (/^ldap:/i.test(f.url.trim()) && f.startTls);

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setStatus('');
    const found = formProblems(f);
    setProblems(found);
    if (found.length) return;
    const body: DirectoryInput = {
      ...toConfig(f),
      // Omitted keeps the stored password; null removes it; a string replaces it.
      ...(removePassword ? { bindPassword: null } : password ? { bindPassword: password } : {}),
    };
    const saved = await save.run(() => api.directory.put(body));
    if (saved) {
      setView(saved);
      setF(toForm(saved));
      setPassword('');
      setRemovePassword(false);
      setTested(null);
      setStatus(
        saved.enabled ? 'Directory settings saved.' : 'Directory settings saved (the directory is disabled).',
      );
    }
  };

  const runTest = async () => {
    setTested(null);
    setTested((await test.run(() => api.directory.test())) ?? null);
  };
  const runSync = async () => {
    setReport(null);
    setReport((await sync.run(() => api.directory.sync())) ?? null);
  };

  return (
    <>
      <form className="form form-narrow" onSubmit={(e) => void submit(e)} noValidate>
        <section className="card" aria-labelledby={id('conn')}>
          <h2 id={id('conn')}>Connection</h2>
          <div className="check">
            <input
              type="checkbox"
              id={id('enabled')}
              checked={f.enabled}
              onChange={(e) => set('enabled', e.target.checked)}
              aria-describedby={id('enabled-hint')}
            />
            <label htmlFor={id('enabled')}>Directory enabled</label>
            <span className="check__hint" id={id('enabled-hint')}>
              When off, nothing is read from the directory and directory passwords are not accepted.
            </span>
          </div>
          <TextField
            id={id('url')}
            label="Server URL"
            value={f.url}
            onChange={(v) => set('url', v)}
            placeholder="ldap://ldap.example.org:389"
          />
          <div className="check">
            <input
              type="checkbox"
              id={id('starttls')}
              checked={f.startTls}
              onChange={(e) => set('startTls', e.target.checked)}
              aria-describedby={id('starttls-hint')}
            />
            <label htmlFor={id('starttls')}>Use StartTLS</label>
            <span className="check__hint" id={id('starttls-hint')}>
              Encrypts an ldap:// connection before binding. Leave off for ldaps:// (already encrypted).
            </span>
          </div>
          <div className="check">
            <input
              type="checkbox"
              id={id('verify')}
              checked={f.tlsVerify}
              onChange={(e) => set('tlsVerify', e.target.checked)}
              aria-describedby={id('verify-hint')}
            />
            <label htmlFor={id('verify')}>Verify the server’s TLS certificate</label>
            <span className="check__hint" id={id('verify-hint')}>
              Turn off only for a test directory: without the check, anyone between Tessera and the directory
              can pose as it and read the passwords sent to it.
            </span>
          </div>
          {encrypted && !f.tlsVerify && (
            <p className="warning" role="note">
              The directory’s certificate will not be checked. Use this for a test directory only; for a real
              one, paste its CA certificate below and turn the check back on.
            </p>
          )}
          {!encrypted && /^ldap:/i.test(f.url.trim()) && (
            <p className="warning" role="note">
              This connection is not encrypted: the service account’s password and the passwords people sign
              in with cross the network in clear. Turn on StartTLS, or use the ldaps:// URL.
            </p>
          )}
          <div className="field">
            <label htmlFor={id('ca')}>Trusted CA certificates (PEM, optional)</label>
            <textarea
              id={id('ca')}
              className="mono"
              rows={3}
              value={f.caCertificatePem}
              onChange={(e) => set('caCertificatePem', e.target.value)}
              placeholder="-----BEGIN CERTIFICATE-----"
              spellCheck={false}
              aria-describedby={id('ca-hint')}
            />
            <span className="field-hint" id={id('ca-hint')}>
              Needed when the directory’s certificate comes from your own CA (an enterprise or Active
              Directory CA): paste that CA’s certificate, and any intermediate. Public CAs are trusted
              already.
            </span>
          </div>
          <NumberField
            id={id('timeout')}
            label="Timeout (seconds)"
            min={1}
            max={120}
            value={f.timeoutSeconds}
            onValue={(v) => set('timeoutSeconds', v)}
            className="field field--narrow"
          />
        </section>

        <section className="card" aria-labelledby={id('account')}>
          <h2 id={id('account')}>Service account</h2>
          <TextField
            id={id('binddn')}
            label="Bind DN"
            value={f.bindDn}
            onChange={(v) => set('bindDn', v)}
            placeholder="cn=tessera,ou=services,dc=example,dc=org"
            hint="Leave empty to search anonymously."
          />
          <div className="field">
            <label htmlFor={id('bindpw')}>Bind password</label>
            <input
              id={id('bindpw')}
              type="password"
              value={password}
              disabled={removePassword}
              onChange={(e) => {
                setStatus('');
                setPassword(e.target.value);
              }}
              placeholder={view.hasBindPassword ? 'Leave blank to keep the current password' : ''}
              aria-describedby={id('bindpw-hint')}
              autoComplete="new-password"
            />
            <span className="field-hint" id={id('bindpw-hint')}>
              {view.hasBindPassword
                ? 'A password is stored (encrypted; it is never shown). Type a new one to replace it.'
                : 'No password is stored.'}
            </span>
          </div>
          {view.hasBindPassword && (
            <div className="check">
              <input
                type="checkbox"
                id={id('rmpw')}
                checked={removePassword}
                onChange={(e) => {
                  setStatus('');
                  setRemovePassword(e.target.checked);
                  if (e.target.checked) setPassword('');
                }}
              />
              <label htmlFor={id('rmpw')}>Remove the stored bind password</label>
            </div>
          )}
        </section>

        <section className="card" aria-labelledby={id('people')}>
          <h2 id={id('people')}>People</h2>
          <TextField
            id={id('basedn')}
            label="Base DN"
            value={f.baseDn}
            onChange={(v) => set('baseDn', v)}
            placeholder="ou=people,dc=example,dc=org"
          />
          <TextField
            id={id('filter')}
            label="User filter"
            value={f.userFilter}
            onChange={(v) => set('userFilter', v)}
            mono
          />
          <div className="field">
            <label htmlFor={id('extid')}>Identify entries by</label>
            <select
              id={id('extid')}
              value={f.externalId}
              onChange={(e) => set('externalId', e.target.value as Form['externalId'])}
              aria-describedby={id('extid-hint')}
            >
              <option value="entryUUID">entryUUID (survives renames)</option>
              <option value="dn">DN</option>
            </select>
            <span className="field-hint" id={id('extid-hint')}>
              How a Tessera user stays linked to their entry.
            </span>
          </div>
          <fieldset>
            <legend>Attribute mapping</legend>
            <div className="form-grid">
              <TextField
                id={id('a-user')}
                label="Username attribute"
                value={f.username}
                onChange={(v) => set('username', v)}
              />
              <TextField
                id={id('a-name')}
                label="Display name attribute"
                value={f.displayName}
                onChange={(v) => set('displayName', v)}
              />
              <TextField
                id={id('a-mail')}
                label="E-mail attribute (optional)"
                value={f.email}
                onChange={(v) => set('email', v)}
                spellCheck
                autoComplete="off"
              />
            </div>
          </fieldset>
          <fieldset>
            <legend>Properties from the directory</legend>
            {f.properties.length === 0 && <p className="muted">No properties are imported.</p>}
            {f.properties.map((p, i) => (
              <div className="kv-editor__row" key={i}>
                <div className="field">
                  <label htmlFor={id(`p${i}-name`)}>Property {i + 1} name</label>
                  <input
                    id={id(`p${i}-name`)}
                    value={p.name}
                    placeholder="employeeId"
                    onChange={(e) =>
                      set(
                        'properties',
                        f.properties.map((x, n) => (n === i ? { ...x, name: e.target.value } : x)),
                      )
                    }
                    autoComplete="off"
                  />
                </div>
                <div className="field">
                  <label htmlFor={id(`p${i}-attr`)}>Property {i + 1} LDAP attribute</label>
                  <input
                    id={id(`p${i}-attr`)}
                    value={p.attribute}
                    placeholder="employeeNumber"
                    onChange={(e) =>
                      set(
                        'properties',
                        f.properties.map((x, n) => (n === i ? { ...x, attribute: e.target.value } : x)),
                      )
                    }
                    autoComplete="off"
                  />
                </div>
                <button
                  type="button"
                  className="btn btn-ghost btn-small"
                  onClick={() =>
                    set(
                      'properties',
                      f.properties.filter((_, n) => n !== i),
                    )
                  }
                  aria-label={`Remove property ${i + 1}${p.name ? ` (${p.name})` : ''}`}
                >
                  Remove
                </button>
              </div>
            ))}
            <button
              type="button"
              className="btn btn-small"
              onClick={() => set('properties', [...f.properties, { name: '', attribute: '' }])}
            >
              Add property
            </button>
          </fieldset>
        </section>

        <section className="card" aria-labelledby={id('groups')}>
          <h2 id={id('groups')}>Groups and roles</h2>
          <p className="muted">
            Everyone imported is a user. Members of a mapped group also get its roles; with no mapping, roles
            are managed in Tessera and the sync leaves them alone.
          </p>
          <div className="form-grid">
            <TextField
              id={id('g-base')}
              label="Groups base DN (optional)"
              value={f.groupsBaseDn}
              onChange={(v) => set('groupsBaseDn', v)}
              placeholder="ou=groups,dc=example,dc=org"
            />
            <TextField
              id={id('g-filter')}
              label="Group filter"
              value={f.groupsFilter}
              onChange={(v) => set('groupsFilter', v)}
              mono
            />
            <TextField
              id={id('g-member')}
              label="Member attribute"
              value={f.memberAttribute}
              onChange={(v) => set('memberAttribute', v)}
            />
          </div>
          {f.groupRoles.map((g, i) => (
            <fieldset key={i} className="group-role">
              <legend>Group mapping {i + 1}</legend>
              <div className="field">
                <label htmlFor={id(`gr${i}`)}>Group {i + 1} DN</label>
                <input
                  id={id(`gr${i}`)}
                  value={g.group}
                  placeholder="cn=helpdesk,ou=groups,dc=example,dc=org"
                  onChange={(e) =>
                    set(
                      'groupRoles',
                      f.groupRoles.map((x, n) => (n === i ? { ...x, group: e.target.value } : x)),
                    )
                  }
                  autoComplete="off"
                  spellCheck={false}
                />
              </div>
              <div className="checks checks--inline">
                {GRANTABLE.map((r) => (
                  <div className="check" key={r}>
                    <input
                      type="checkbox"
                      id={id(`gr${i}-${r}`)}
                      checked={g.roles.includes(r)}
                      onChange={(e) =>
                        set(
                          'groupRoles',
                          f.groupRoles.map((x, n) =>
                            n === i
                              ? {
                                  ...x,
                                  roles: e.target.checked ? [...x.roles, r] : x.roles.filter((y) => y !== r),
                                }
                              : x,
                          ),
                        )
                      }
                    />
                    <label htmlFor={id(`gr${i}-${r}`)}>
                      <span className="visually-hidden">Group {i + 1}: </span>
                      {humanize(r)}
                    </label>
                  </div>
                ))}
              </div>
              <button
                type="button"
                className="btn btn-ghost btn-small"
                onClick={() =>
                  set(
                    'groupRoles',
                    f.groupRoles.filter((_, n) => n !== i),
                  )
                }
              >
                Remove group mapping {i + 1}
              </button>
            </fieldset>
          ))}
          <button
            type="button"
            className="btn btn-small"
            onClick={() => set('groupRoles', [...f.groupRoles, { group: '', roles: [] }])}
          >
            Add group mapping
          </button>
        </section>

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

      <section className="card form-narrow" aria-labelledby={id('actions')}>
        <h2 id={id('actions')}>Test and sync</h2>
        <p className="muted">
          Both use the saved settings.
          {dirty && <strong> You have unsaved changes: save them first.</strong>}
        </p>
        <div className="row-actions">
          <button
            type="button"
            className="btn"
            disabled={busy || dirty || !view.enabled}
            onClick={() => void runTest()}
          >
            {test.busy ? 'Testing…' : 'Test connection'}
          </button>
          <button
            type="button"
            className="btn btn-primary"
            disabled={busy || dirty || !view.enabled}
            onClick={() => void runSync()}
          >
            {sync.busy ? 'Syncing…' : 'Sync now'}
          </button>
        </div>
        {!view.enabled && <p className="muted">Enable the directory and save to test or sync it.</p>}
        <div aria-live="polite">
          {tested && (
            <p className="notice">
              Connection succeeded ({view.bindDn ? `bound as ${view.bindDn}` : 'anonymous search'}). The user
              filter selects <strong>{tested.userCount}</strong>{' '}
              {tested.userCount === 1 ? 'person' : 'people'}.
            </p>
          )}
          {tested?.warnings?.map((w) => (
            <p key={w} className="warning" role="note">
              {w}.
            </p>
          ))}
          {report && <SyncReportView report={report} />}
        </div>
        <ErrorPanel error={test.error} title="The connection test failed" onDismiss={test.clear} />
        <ErrorPanel error={sync.error} title="The sync failed; nothing was changed" onDismiss={sync.clear} />
      </section>
    </>
  );
}

function SyncReportView({ report }: { report: DirectorySyncReport }) {
  const rows: [string, number][] = [
    ['Created', report.created],
    ['Updated', report.updated],
    ['Unchanged', report.unchanged],
    ['Suspended (removed from the directory)', report.suspended],
  ];
  return (
    <div className="import-report">
      <h3>Sync report</h3>
      <table className="table table--compact">
        <caption className="visually-hidden">Sync report</caption>
        <tbody>
          {rows.map(([label, n]) => (
            <tr key={label}>
              <th scope="row">{label}</th>
              <td>{n}</td>
            </tr>
          ))}
        </tbody>
      </table>
      {report.errors.length > 0 ? (
        <>
          <h4>
            {report.errors.length} {report.errors.length === 1 ? 'problem' : 'problems'} (entries skipped or
            left as they were)
          </h4>
          <ul className="notes">
            {report.errors.map((e, i) => (
              <li key={i}>{e}</li>
            ))}
          </ul>
        </>
      ) : (
        <p className="muted">No problems.</p>
      )}
      <p>
        <Link to="/operator">See the users</Link> (directory users show “Directory” as their source).
      </p>
    </div>
  );
}
