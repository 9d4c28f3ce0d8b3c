// The account Tessera binds as. The bind password is write-only: the server never returns it (only
// whether one is set), this section never puts it back into a field, and after a save the typed
// password is forgotten.
import { useSection } from '../../../components/section';
import { TextField } from '../../../components/TextField';
import type { DirectoryInput, DirectoryView } from '../../../types';

export interface ServiceAccount {
  bindDn: string;
  /** Typed here, sent once, then cleared. Never filled from the server. */
  password: string;
  removePassword: boolean;
}

export const serviceAccountOf = (v: DirectoryView): ServiceAccount => ({
  bindDn: v.bindDn,
  password: '',
  removePassword: false,
});

export const serviceAccountConfig = (a: ServiceAccount) => ({ bindDn: a.bindDn.trim() });

/** Omitted keeps the stored password; null removes it; a string replaces it. */
export const bindPasswordChange = (a: ServiceAccount): Pick<DirectoryInput, 'bindPassword'> =>
  a.removePassword ? { bindPassword: null } : a.password ? { bindPassword: a.password } : {};

interface Props {
  value: ServiceAccount;
  onChange: (v: ServiceAccount) => void;
  hasBindPassword: boolean;
}

export function ServiceAccountSection({ value, onChange, hasBindPassword }: Props) {
  const { id, set } = useSection(value, onChange);
  return (
    <section className="card" aria-labelledby={id('account')}>
      <h2 id={id('account')}>Service account</h2>
      <TextField
        id={id('binddn')}
        label="Bind DN"
        value={value.bindDn}
        onChange={(v) => set('bindDn', v)}
        placeholder="cn=tessera,ou=services,dc=example,dc=org"
        hint="Leave empty to search anonymously."
      />
      <div className="field">
        <label htmlFor={id('bindpw')}>Bind password</label>
        <input
          id={id('bindpw')}
          type="password"
          value={value.password}
          disabled={value.removePassword}
          onChange={(e) => set('password', e.target.value)}
          placeholder={hasBindPassword ? 'Leave blank to keep the current password' : ''}
          aria-describedby={id('bindpw-hint')}
          autoComplete="new-password"
        />
        <span className="field-hint" id={id('bindpw-hint')}>
          {hasBindPassword
            ? 'A password is stored (encrypted; it is never shown). Type a new one to replace it.'
            : 'No password is stored.'}
        </span>
      </div>
      {hasBindPassword && (
        <div className="check">
          <input
            type="checkbox"
            id={id('rmpw')}
            checked={value.removePassword}
            onChange={(e) =>
              onChange({
                ...value,
                removePassword: e.target.checked,
                password: e.target.checked ? '' : value.password,
              })
            }
          />
          <label htmlFor={id('rmpw')}>Remove the stored bind password</label>
        </div>
      )}
    </section>
  );
}
