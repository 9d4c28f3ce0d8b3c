// Where people are found and how an entry becomes a Tessera user: the base DN and filter, what
// identifies an entry, which attributes hold the username, name and address, and which further
// attributes become properties.
import { patchAt, removeAt, useSection } from '../../../components/section';
import { TextField } from '../../../components/TextField';
import type { DirectoryConfig, DirectoryView } from '../../../types';

export interface People {
  baseDn: string;
  userFilter: string;
  externalId: DirectoryConfig['externalId'];
  username: string;
  displayName: string;
  /** '' for none. */
  email: string;
  /** '' for none: the attribute holding the person's picture (jpegPhoto), printed on cards. */
  photo: string;
  properties: { name: string; attribute: string }[];
}

export const peopleOf = (v: DirectoryView): People => ({
  baseDn: v.baseDn,
  userFilter: v.userFilter,
  externalId: v.externalId,
  username: v.attributes.username,
  displayName: v.attributes.displayName,
  email: v.attributes.email ?? '',
  photo: v.attributes.photo ?? '',
  properties: Object.entries(v.properties).map(([name, attribute]) => ({ name, attribute })),
});

export const peopleConfig = (p: People) =>
  ({
    baseDn: p.baseDn.trim(),
    userFilter: p.userFilter.trim(),
    externalId: p.externalId,
    attributes: {
      username: p.username.trim(),
      displayName: p.displayName.trim(),
      email: p.email.trim() ? p.email.trim() : null,
      photo: p.photo.trim() ? p.photo.trim() : null,
    },
    properties: Object.fromEntries(
      p.properties.filter((x) => x.name.trim()).map((x) => [x.name.trim(), x.attribute.trim()]),
    ),
  }) satisfies Partial<DirectoryConfig>;

/** What the server's schema would refuse; an enabled directory needs a base DN. */
export function peopleProblems(p: People, enabled: boolean): string[] {
  const out: string[] = [];
  if (enabled && !p.baseDn.trim()) out.push('Enter the base DN under which people are found.');
  if (p.userFilter.trim().length < 3) out.push('Enter a user filter, e.g. (objectClass=inetOrgPerson).');
  if (!p.username.trim() || !p.displayName.trim())
    out.push('Name the attributes that hold the username and the display name.');
  p.properties.forEach((x, i) => {
    if (!x.name.trim() && !x.attribute.trim()) return;
    if (!/^[A-Za-z][A-Za-z0-9_.-]*$/.test(x.name.trim()))
      out.push(`Property ${i + 1}: the Tessera name must start with a letter (letters, digits, _ . -).`);
    if (!x.attribute.trim()) out.push(`Property ${i + 1}: name the LDAP attribute it comes from.`);
  });
  return out;
}

export function PeopleSection({ value, onChange }: { value: People; onChange: (v: People) => void }) {
  const { id, set } = useSection(value, onChange);
  const setProperty = (i: number, patch: Partial<People['properties'][number]>) =>
    set('properties', patchAt(value.properties, i, patch));
  return (
    <section className="card" aria-labelledby={id('people')}>
      <h2 id={id('people')}>People</h2>
      <TextField
        id={id('basedn')}
        label="Base DN"
        value={value.baseDn}
        onChange={(v) => set('baseDn', v)}
        placeholder="ou=people,dc=example,dc=org"
      />
      <TextField
        id={id('filter')}
        label="User filter"
        value={value.userFilter}
        onChange={(v) => set('userFilter', v)}
        mono
      />
      <div className="field">
        <label htmlFor={id('extid')}>Identify entries by</label>
        <select
          id={id('extid')}
          value={value.externalId}
          onChange={(e) => set('externalId', e.target.value as People['externalId'])}
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
            value={value.username}
            onChange={(v) => set('username', v)}
          />
          <TextField
            id={id('a-name')}
            label="Display name attribute"
            value={value.displayName}
            onChange={(v) => set('displayName', v)}
          />
          <TextField
            id={id('a-mail')}
            label="E-mail attribute (optional)"
            value={value.email}
            onChange={(v) => set('email', v)}
            spellCheck
            autoComplete="off"
          />
          <TextField
            id={id('a-photo')}
            label="Photo attribute (optional)"
            value={value.photo}
            onChange={(v) => set('photo', v)}
            placeholder="jpegPhoto"
            autoComplete="off"
          />
        </div>
      </fieldset>
      <fieldset>
        <legend>Properties from the directory</legend>
        {value.properties.length === 0 && <p className="muted">No properties are imported.</p>}
        {value.properties.map((p, i) => (
          <div className="kv-editor__row" key={i}>
            <div className="field">
              <label htmlFor={id(`p${i}-name`)}>Property {i + 1} name</label>
              <input
                id={id(`p${i}-name`)}
                value={p.name}
                placeholder="employeeId"
                onChange={(e) => setProperty(i, { name: e.target.value })}
                autoComplete="off"
              />
            </div>
            <div className="field">
              <label htmlFor={id(`p${i}-attr`)}>Property {i + 1} LDAP attribute</label>
              <input
                id={id(`p${i}-attr`)}
                value={p.attribute}
                placeholder="employeeNumber"
                onChange={(e) => setProperty(i, { attribute: e.target.value })}
                autoComplete="off"
              />
            </div>
            <button
              type="button"
              className="btn btn-ghost btn-small"
              onClick={() => set('properties', removeAt(value.properties, i))}
              aria-label={`Remove property ${i + 1}${p.name ? ` (${p.name})` : ''}`}
            >
              Remove
            </button>
          </div>
        ))}
        <button
          type="button"
          className="btn btn-small"
          onClick={() => set('properties', [...value.properties, { name: '', attribute: '' }])}
        >
          Add property
        </button>
      </fieldset>
    </section>
  );
}
