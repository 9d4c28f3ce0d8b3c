// Which directory groups grant which Tessera roles. Everyone imported is a user; with no mapping,
// roles are managed in Tessera and the sync leaves them alone.
import { patchAt, removeAt, useSection } from '../../../components/section';
import { TextField } from '../../../components/TextField';
import { humanize } from '../../../format';
import { ROLES, type DirectoryConfig, type DirectoryView, type Role } from '../../../types';

// Everyone imported is a user; the mapping grants the other roles.
const GRANTABLE = ROLES.filter((r) => r !== 'user');

export interface Groups {
  /** '' for none. */
  baseDn: string;
  filter: string;
  memberAttribute: string;
  groupRoles: { group: string; roles: Role[] }[];
}

export const groupsOf = (v: DirectoryView): Groups => ({
  baseDn: v.groups.baseDn ?? '',
  filter: v.groups.filter,
  memberAttribute: v.groups.memberAttribute,
  groupRoles: v.groupRoles.map((g) => ({ group: g.group, roles: [...g.roles] })),
});

export const groupsConfig = (g: Groups) =>
  ({
    groups: {
      baseDn: g.baseDn.trim() ? g.baseDn.trim() : null,
      filter: g.filter.trim(),
      memberAttribute: g.memberAttribute.trim(),
    },
    groupRoles: g.groupRoles.map((x) => ({ group: x.group.trim(), roles: x.roles })),
  }) satisfies Partial<DirectoryConfig>;

export function groupsProblems(g: Groups): string[] {
  const out: string[] = [];
  g.groupRoles.forEach((x, i) => {
    if (x.group.trim().length < 3) out.push(`Group mapping ${i + 1}: enter the group's DN.`);
    if (x.roles.length === 0) out.push(`Group mapping ${i + 1}: choose at least one role.`);
  });
  return out;
}

export function GroupsSection({ value, onChange }: { value: Groups; onChange: (v: Groups) => void }) {
  const { id, set } = useSection(value, onChange);
  const setMapping = (i: number, patch: Partial<Groups['groupRoles'][number]>) =>
    set('groupRoles', patchAt(value.groupRoles, i, patch));
  return (
    <section className="card" aria-labelledby={id('groups')}>
      <h2 id={id('groups')}>Groups and roles</h2>
      <p className="muted">
        Everyone imported is a user. Members of a mapped group also get its roles; with no mapping, roles are
        managed in Tessera and the sync leaves them alone.
      </p>
      <div className="form-grid">
        <TextField
          id={id('g-base')}
          label="Groups base DN (optional)"
          value={value.baseDn}
          onChange={(v) => set('baseDn', v)}
          placeholder="ou=groups,dc=example,dc=org"
        />
        <TextField
          id={id('g-filter')}
          label="Group filter"
          value={value.filter}
          onChange={(v) => set('filter', v)}
          mono
        />
        <TextField
          id={id('g-member')}
          label="Member attribute"
          value={value.memberAttribute}
          onChange={(v) => set('memberAttribute', v)}
        />
      </div>
      {value.groupRoles.map((g, i) => (
        <fieldset key={i} className="group-role">
          <legend>Group mapping {i + 1}</legend>
          <div className="field">
            <label htmlFor={id(`gr${i}`)}>Group {i + 1} DN</label>
            <input
              id={id(`gr${i}`)}
              value={g.group}
              placeholder="cn=helpdesk,ou=groups,dc=example,dc=org"
              onChange={(e) => setMapping(i, { group: e.target.value })}
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
                    setMapping(i, {
                      roles: e.target.checked ? [...g.roles, r] : g.roles.filter((y) => y !== r),
                    })
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
            onClick={() => set('groupRoles', removeAt(value.groupRoles, i))}
          >
            Remove group mapping {i + 1}
          </button>
        </fieldset>
      ))}
      <button
        type="button"
        className="btn btn-small"
        onClick={() => set('groupRoles', [...value.groupRoles, { group: '', roles: [] }])}
      >
        Add group mapping
      </button>
    </section>
  );
}
