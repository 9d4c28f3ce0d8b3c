// The audit log: who changed what, when; and a check that the hash chain is unbroken.
import { useState } from 'react';
import { Link } from 'react-router-dom';
import { api } from '../../api';
import { ListTable } from '../../components/ListTable';
import { ErrorPanel } from '../../components/ErrorPanel';
import { SearchBox } from '../../components/SearchBox';
import { PageHeader } from '../../components/Status';
import { useListParams } from '../../components/useListParams';
import { formatDateTime, humanize } from '../../format';
import { useAction, useLoad, useTitle } from '../../hooks';
import { useSession } from '../../session';
import type { AuditVerification } from '../../types';

const LIMIT = 50;

export function AuditPage() {
  useTitle('Audit log');
  const { can } = useSession();
  const { values, offset, setFilter, setOffset } = useListParams([
    'action',
    'targetType',
    'targetId',
    'actorId',
  ] as const);
  const list = useLoad(
    () =>
      api.audit.list({
        action: values.action,
        targetType: values.targetType,
        targetId: values.targetId,
        actorId: values.actorId,
        limit: LIMIT,
        offset,
      }),
    [values.action, values.targetType, values.targetId, values.actorId, offset],
  );

  return (
    <>
      <PageHeader
        title="Audit log"
        intro="Every change, append-only and hash-chained: each event seals the one before it."
        actions={can('audit.verify') && <VerifyChain />}
      />
      <form
        className="filters filters--grid"
        role="search"
        aria-label="Filter audit events"
        onSubmit={(e) => e.preventDefault()}
      >
        <SearchBox
          id="audit-action"
          label="Action"
          placeholder="e.g. user.create"
          value={values.action}
          onSearch={(v) => setFilter('action', v)}
        />
        <SearchBox
          id="audit-target-type"
          label="Target type"
          placeholder="e.g. user, device"
          value={values.targetType}
          onSearch={(v) => setFilter('targetType', v)}
        />
        <SearchBox
          id="audit-target-id"
          label="Target ID"
          value={values.targetId}
          onSearch={(v) => setFilter('targetId', v)}
        />
        <SearchBox
          id="audit-actor"
          label="Actor ID"
          value={values.actorId}
          onSearch={(v) => setFilter('actorId', v)}
        />
      </form>
      <ListTable
        list={list}
        caption="Audit events"
        errorTitle="Could not load the audit log"
        loadingText="Loading audit events"
        emptyText="No events match these filters."
        columns={['#', 'When', 'Who', 'Action', 'Target', 'Details']}
        row={(e) => (
          <tr key={e.seq}>
            <td>{e.seq}</td>
            <td className="nowrap">{formatDateTime(e.at)}</td>
            <td>
              <button
                type="button"
                className="link-button"
                disabled={!e.actorId}
                onClick={() => e.actorId && setFilter('actorId', e.actorId)}
                title="Show only this actor's events"
              >
                {e.actorName}
              </button>
            </td>
            <td className="mono">{e.action}</td>
            <td>
              <AuditTarget type={e.targetType} id={e.targetId} />
            </td>
            <td>
              <AuditDetails details={e.details} />
            </td>
          </tr>
        )}
        limit={LIMIT}
        offset={offset}
        onOffset={setOffset}
        compact
      />
    </>
  );
}

function VerifyChain() {
  const action = useAction();
  const [result, setResult] = useState<AuditVerification | null>(null);
  const verify = async () => {
    setResult(null);
    const r = await action.run(() => api.audit.verify());
    if (r) setResult(r);
  };
  return (
    <div className="verify">
      <button type="button" className="btn" onClick={() => void verify()} disabled={action.busy}>
        {action.busy ? 'Verifying…' : 'Verify chain'}
      </button>
      <div aria-live="polite" role="status" className="verify__result">
        {result &&
          (result.ok ? (
            <span className="verify__ok">Chain intact: {result.checked} events checked.</span>
          ) : (
            <span className="verify__bad">
              Chain broken at event #{result.brokenAt}
              {result.reason ? `: ${result.reason}` : ''} ({result.checked} checked).
            </span>
          ))}
      </div>
      <ErrorPanel error={action.error} title="Verification did not run" />
    </div>
  );
}

const TARGET_PAGES: Record<string, string> = {
  user: '/operator/users/',
  policy: '/operator/policies/',
  certificate: '/operator/certificates/',
};

/** The target's type in words and its id, shortened, linking to its page when it has one. */
function AuditTarget({ type, id }: { type: string; id: string | null }) {
  const short = id && id.length > 14 ? `${id.slice(0, 8)}…` : id;
  const page = TARGET_PAGES[type];
  return (
    <>
      <span className="muted">{humanize(type)}</span>{' '}
      {id &&
        (page ? (
          <Link
            to={`${page}${encodeURIComponent(id)}`}
            title={id}
            aria-label={`${humanize(type)} ${id}`}
            className="mono small"
          >
            {short}
          </Link>
        ) : (
          <span className="mono small" title={id}>
            {short}
          </span>
        ))}
    </>
  );
}

function show(value: unknown): string {
  if (value === null || value === undefined) return '—';
  if (Array.isArray(value) && value.every((v) => typeof v !== 'object' || v === null))
    return value.length ? value.map(String).join(', ') : '(none)';
  if (typeof value === 'object') return JSON.stringify(value);
  return String(value);
}

/** An event's details as "key value" pairs; nested values stay JSON. */
function AuditDetails({ details }: { details: Record<string, unknown> | null }) {
  const entries = Object.entries(details ?? {});
  if (entries.length === 0) return <span className="muted">—</span>;
  return (
    <dl className="audit-details">
      {entries.map(([k, v]) => (
        <div key={k}>
          <dt>{k}</dt>
          <dd>{show(v)}</dd>
        </div>
      ))}
    </dl>
  );
}
