// The five roles as checkboxes; a person may hold several.
import { useId } from 'react';
import { humanize } from '../format';
import { ROLES, type Role } from '../types';

const ROLE_HINTS: Record<Role, string> = {
  user: 'holds devices and uses the user portal',
  helpdesk: 'looks people up, submits replacement requests',
  issuance_officer: 'binds, issues and prints devices',
  validation_officer: 'approves requests users declare',
  admin: 'configures policies, settings, CAs and operators',
};

export function RolesField({ value, onChange }: { value: Role[]; onChange: (roles: Role[]) => void }) {
  const base = useId();
  return (
    <fieldset className="checks">
      <legend>Roles</legend>
      {ROLES.map((r) => (
        <div className="check" key={r}>
          <input
            type="checkbox"
            id={`${base}-${r}`}
            checked={value.includes(r)}
            onChange={(e) => onChange(e.target.checked ? [...value, r] : value.filter((x) => x !== r))}
            aria-describedby={`${base}-${r}-hint`}
          />
          <label htmlFor={`${base}-${r}`}>{humanize(r)}</label>
          <span className="check__hint" id={`${base}-${r}-hint`}>
            {ROLE_HINTS[r]}
          </span>
        </div>
      ))}
    </fieldset>
  );
}
