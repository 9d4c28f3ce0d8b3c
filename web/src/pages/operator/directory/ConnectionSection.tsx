// Where the directory is and how Tessera talks to it: on or off, the URL, StartTLS, whether the
// server's certificate is checked and against which CAs, and the timeout. Warns when the connection
// would not be encrypted or not verified.
import { NumberField } from '../../../components/NumberInput';
import { useSection } from '../../../components/section';
import { TextField } from '../../../components/TextField';
import type { DirectoryConfig, DirectoryView } from '../../../types';

export interface Connection {
  enabled: boolean;
  url: string;
  startTls: boolean;
  tlsVerify: boolean;
  /** '' for none. */
  caCertificatePem: string;
  timeoutSeconds: number;
}

export const connectionOf = (v: DirectoryView): Connection => ({
  enabled: v.enabled,
  url: v.url,
  startTls: v.startTls,
  tlsVerify: v.tlsVerify,
  caCertificatePem: v.caCertificatePem ?? '',
  timeoutSeconds: v.timeoutSeconds,
});

export const connectionConfig = (c: Connection) =>
  ({
    enabled: c.enabled,
    url: c.url.trim(),
    startTls: c.startTls,
    tlsVerify: c.tlsVerify,
    caCertificatePem: c.caCertificatePem.trim() ? c.caCertificatePem.trim() : null,
    timeoutSeconds: c.timeoutSeconds,
  }) satisfies Partial<DirectoryConfig>;

export function connectionProblems(c: Connection): string[] {
  const out: string[] = [];
  if (!/^ldaps?:\/\/.+/i.test(c.url.trim())) out.push('The URL must start with ldap:// or ldaps://.');
  if (/^ldaps:/i.test(c.url.trim()) && c.startTls)
    out.push('StartTLS is for ldap:// URLs: an ldaps:// connection is already encrypted.');
  if (!Number.isInteger(c.timeoutSeconds) || c.timeoutSeconds < 1 || c.timeoutSeconds > 120)
    out.push('The timeout must be 1–120 seconds.');
  return out;
}

export function ConnectionSection({
  value,
  onChange,
}: {
  value: Connection;
  onChange: (v: Connection) => void;
}) {
  const { id, set } = useSection(value, onChange);
  const url = value.url.trim();
  const encrypted = /^ldaps:/i.test(url) || (/^ldap:/i.test(url) && value.startTls);
  return (
    <section className="card" aria-labelledby={id('conn')}>
      <h2 id={id('conn')}>Connection</h2>
      <div className="check">
        <input
          type="checkbox"
          id={id('enabled')}
          checked={value.enabled}
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
        value={value.url}
        onChange={(v) => set('url', v)}
        placeholder="ldap://ldap.example.org:389"
      />
      <div className="check">
        <input
          type="checkbox"
          id={id('starttls')}
          checked={value.startTls}
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
          checked={value.tlsVerify}
          onChange={(e) => set('tlsVerify', e.target.checked)}
          aria-describedby={id('verify-hint')}
        />
        <label htmlFor={id('verify')}>Verify the server’s TLS certificate</label>
        <span className="check__hint" id={id('verify-hint')}>
          Turn off only for a test directory: without the check, anyone between Tessera and the directory can
          pose as it and read the passwords sent to it.
        </span>
      </div>
      {encrypted && !value.tlsVerify && (
        <p className="warning" role="note">
          The directory’s certificate will not be checked. Use this for a test directory only; for a real one,
          paste its CA certificate below and turn the check back on.
        </p>
      )}
      {!encrypted && /^ldap:/i.test(url) && (
        <p className="warning" role="note">
          This connection is not encrypted: the service account’s password and the passwords people sign in
          with cross the network in clear. Turn on StartTLS, or use the ldaps:// URL.
        </p>
      )}
      <div className="field">
        <label htmlFor={id('ca')}>Trusted CA certificates (PEM, optional)</label>
        <textarea
          id={id('ca')}
          className="mono"
          rows={3}
          value={value.caCertificatePem}
          onChange={(e) => set('caCertificatePem', e.target.value)}
          placeholder="-----BEGIN CERTIFICATE-----"
          spellCheck={false}
          aria-describedby={id('ca-hint')}
        />
        <span className="field-hint" id={id('ca-hint')}>
          Needed when the directory’s certificate comes from your own CA (an enterprise or Active Directory
          CA): paste that CA’s certificate, and any intermediate. Public CAs are trusted already.
        </span>
      </div>
      <NumberField
        id={id('timeout')}
        label="Timeout (seconds)"
        min={1}
        max={120}
        value={value.timeoutSeconds}
        onValue={(v) => set('timeoutSeconds', v)}
        className="field field--narrow"
      />
    </section>
  );
}
