// Certificate authorities: the chain from root to issuing CA, where relying parties download
// certificates and CRLs, and the current CRL's number and next update (RFC 5280 §5.1.2.5, §5.2.3).
import { useState, type FormEvent } from 'react';
import { api } from '../../api';
import { Badge } from '../../components/Badge';
import { ErrorPanel } from '../../components/ErrorPanel';
import { Loading, PageHeader, StatusMessage } from '../../components/Status';
import { formatDateTime, formatSerial } from '../../format';
import { useAction, useLoad, useTitle } from '../../hooks';
import { useSession } from '../../session';
import type { CertificateAuthority } from '../../types';
import { RetryButton } from '../../components/ListTable';

interface Node {
  ca: CertificateAuthority;
  children: Node[];
}

/** Arranges CAs by who issued whom: a CA whose issuer is another listed CA's subject sits under it. */
export function chainTree(cas: CertificateAuthority[]): Node[] {
  const nodes = new Map(cas.map((ca) => [ca.id, { ca, children: [] as Node[] }]));
  const roots: Node[] = [];
  for (const node of nodes.values()) {
    const { ca } = node;
    const parent =
      ca.issuer !== ca.subject
        ? (cas.find((p) => p.id !== ca.id && p.subject === ca.issuer && p.kind === 'root') ??
          cas.find((p) => p.id !== ca.id && p.subject === ca.issuer))
        : undefined;
    if (parent) nodes.get(parent.id)!.children.push(node);
    else roots.push(node);
  }
  return roots;
}

export function CaPage() {
  useTitle('Certificate authorities');
  const { can } = useSession();
  const list = useLoad(() => api.cas.list(), []);
  return (
    <>
      <PageHeader
        title="Certificate authorities"
        intro="The chain that signs every certificate Tessera issues, and the revocation lists relying parties fetch."
      />
      <ErrorPanel
        error={list.error}
        title="Could not load the CAs"
        actions={<RetryButton onClick={list.reload} />}
      />
      {list.loading && !list.data && <Loading what="Loading certificate authorities" />}
      {list.data &&
        (list.data.items.length === 0 ? (
          <p className="muted">No certificate authority has been set up yet.</p>
        ) : (
          <ul className="ca-tree" aria-label="Certificate chain">
            {chainTree(list.data.items).map((n) => (
              <CaNode key={n.ca.id} node={n} />
            ))}
          </ul>
        ))}
      {can('ca.manage') && <ImportCa onImported={list.reload} />}
    </>
  );
}

function CaNode({ node }: { node: Node }) {
  return (
    <li>
      <CaCard ca={node.ca} />
      {node.children.length > 0 && (
        <ul className="ca-tree__children" aria-label={`Issued by ${node.ca.name}`}>
          {node.children.map((c) => (
            <CaNode key={c.ca.id} node={c} />
          ))}
        </ul>
      )}
    </li>
  );
}

function CaCard({ ca }: { ca: CertificateAuthority }) {
  const headingId = `ca-${ca.id}`;
  return (
    <section className={`card ca-card${ca.active ? ' ca-card--active' : ''}`} aria-labelledby={headingId}>
      <div className="card__head">
        <h2 id={headingId}>
          {ca.name} <span className="muted small">{ca.kind === 'root' ? 'Root CA' : 'Issuing CA'}</span>
        </h2>
        <div className="badges">
          {ca.active && <Badge value="active" label="Active" />}
          {ca.imported && <Badge value="bound" label="Imported" />}
        </div>
      </div>
      <dl className="details">
        <dt>Subject</dt>
        <dd className="mono-soft">{ca.subject}</dd>
        <dt>Issuer</dt>
        <dd className="mono-soft">{ca.issuer}</dd>
        <dt>Serial number</dt>
        <dd className="mono">{formatSerial(ca.serial)}</dd>
        <dt>Valid</dt>
        <dd>
          {formatDateTime(ca.notBefore)} – {formatDateTime(ca.notAfter)}
        </dd>
        <dt>Key</dt>
        <dd>{ca.keyAlgorithm}</dd>
        <dt>Current CRL</dt>
        <dd>
          {ca.crl ? (
            <>
              Number <strong>{ca.crl.number}</strong>, issued {formatDateTime(ca.crl.thisUpdate)}, next update{' '}
              <strong>{formatDateTime(ca.crl.nextUpdate)}</strong>
            </>
          ) : (
            <span className="muted">no CRL published yet</span>
          )}
        </dd>
        <dt>Downloads</dt>
        <dd>
          <ul className="link-list">
            <li>
              <a href={api.cas.crtUrl(ca.id)} download>
                Certificate (DER, .crt)
              </a>
            </li>
            <li>
              <a href={api.cas.pemUrl(ca.id)} download>
                Certificate (PEM)
              </a>
            </li>
            <li>
              <a href={api.cas.chainUrl(ca.id)} download>
                Chain (PEM)
              </a>
            </li>
            {ca.crl && (
              <li>
                <a href={api.cas.crlUrl(ca.id)} download>
                  CRL (DER, .crl)
                </a>
              </li>
            )}
          </ul>
        </dd>
      </dl>
    </section>
  );
}

function ImportCa({ onImported }: { onImported: () => void }) {
  const [mode, setMode] = useState<'pem' | 'p12'>('pem');
  const [chain, setChain] = useState('');
  const [key, setKey] = useState('');
  const [p12, setP12] = useState('');
  const [password, setPassword] = useState('');
  const [status, setStatus] = useState('');
  const action = useAction();

  const readP12 = async (file: File | undefined) => {
    if (!file) return;
    const bytes = new Uint8Array(await file.arrayBuffer());
    let bin = '';
    for (const b of bytes) bin += String.fromCharCode(b);
    setP12(btoa(bin));
  };

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setStatus('');
    const ca = await action.run(() =>
      api.cas.import(
        mode === 'pem' ? { certificateChainPem: chain, privateKeyPem: key } : { pkcs12Base64: p12, password },
      ),
    );
    if (ca) {
      setKey('');
      setPassword('');
      setStatus(`Imported ${ca.name}; it is now the active issuing CA.`);
      onImported();
    }
  };

  return (
    <section className="card" aria-labelledby="ca-import">
      <h2 id="ca-import">Import an issuing CA</h2>
      <p className="muted">
        Use a CA certificate signed by your organisation's own root. The imported CA becomes the active
        issuing CA; the private key is stored encrypted under the master key.
      </p>
      <form className="form" onSubmit={(e) => void submit(e)}>
        <fieldset className="checks checks--inline">
          <legend>Format</legend>
          <div className="check">
            <input
              type="radio"
              id="ca-fmt-pem"
              name="ca-fmt"
              checked={mode === 'pem'}
              onChange={() => setMode('pem')}
            />
            <label htmlFor="ca-fmt-pem">PEM certificate chain and key</label>
          </div>
          <div className="check">
            <input
              type="radio"
              id="ca-fmt-p12"
              name="ca-fmt"
              checked={mode === 'p12'}
              onChange={() => setMode('p12')}
            />
            <label htmlFor="ca-fmt-p12">PKCS#12 file</label>
          </div>
        </fieldset>
        {mode === 'pem' ? (
          <div className="form-grid">
            <div className="field">
              <label htmlFor="ca-chain">Certificate chain (PEM, issuing CA first)</label>
              <textarea
                id="ca-chain"
                className="mono"
                rows={6}
                value={chain}
                onChange={(e) => setChain(e.target.value)}
              />
            </div>
            <div className="field">
              <label htmlFor="ca-key">Private key (PEM)</label>
              <textarea
                id="ca-key"
                className="mono"
                rows={6}
                value={key}
                onChange={(e) => setKey(e.target.value)}
                autoComplete="off"
                spellCheck={false}
              />
            </div>
          </div>
        ) : (
          <div className="form-grid">
            <div className="field">
              <label htmlFor="ca-p12">PKCS#12 file (.p12, .pfx)</label>
              <input
                id="ca-p12"
                type="file"
                accept=".p12,.pfx"
                onChange={(e) => void readP12(e.target.files?.[0])}
              />
            </div>
            <div className="field">
              <label htmlFor="ca-p12-password">PKCS#12 password</label>
              <input
                id="ca-p12-password"
                type="password"
                autoComplete="off"
                value={password}
                onChange={(e) => setPassword(e.target.value)}
              />
            </div>
          </div>
        )}
        <ErrorPanel error={action.error} title="The CA was not imported" />
        <StatusMessage>{status}</StatusMessage>
        <div className="form-actions">
          <button type="submit" className="btn btn-primary" disabled={action.busy}>
            {action.busy ? 'Importing…' : 'Import CA'}
          </button>
        </div>
      </form>
    </section>
  );
}
