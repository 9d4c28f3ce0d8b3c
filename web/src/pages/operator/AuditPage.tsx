// The audit log: who changed what, when; and a check that the hash chain is unbroken.
import { useState } from 'react';
import { api } from '../../api';
import { ErrorPanel } from '../../components/ErrorPanel';
import { Pagination } from '../../components/Pagination';
import { SearchBox } from '../../components/SearchBox';
import { Loading, PageHeader } from '../../components/Status';
import { useListParams } from '../../components/useListParams';
import { formatDateTime } from '../../format';
import { useAction, useLoad, useTitle } from '../../hooks';
import { useSession } from '../../session';
import type { AuditVerification } from '../../types';
import { RetryButton } from './UsersPage';

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
        className="filters"
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
      <ErrorPanel
        error={list.error}
        title="Could not load the audit log"
        actions={<RetryButton onClick={list.reload} />}
      />
      {list.loading && !list.data && <Loading what="Loading audit events" />}
      {list.data && (
        <>
          <div className="table-wrap">
            <table className="table table--compact">
              <caption className="visually-hidden">Audit events</caption>
              <thead>
                <tr>
                  <th scope="col">#</th>
                  <th scope="col">When</th>
                  <th scope="col">Who</th>
                  <th scope="col">Action</th>
                  <th scope="col">Target</th>
                  <th scope="col">Details</th>
                </tr>
              </thead>
              <tbody>
                {list.data.items.map((e) => (
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
                      <span className="muted">{e.targetType}</span>{' '}
                      {e.targetId && <span className="mono small">{e.targetId}</span>}
                    </td>
                    <td className="cell-details">
                      {e.details && Object.keys(e.details).length > 0 ? (
                        <code>{JSON.stringify(e.details)}</code>
                      ) : (
                        <span className="muted">—</span>
                      )}
                    </td>
                  </tr>
                ))}
                {list.data.items.length === 0 && (
                  <tr>
                    <td colSpan={6} className="table__empty">
                      No events match these filters.
                    </td>
                  </tr>
                )}
              </tbody>
            </table>
          </div>
          <Pagination
            label="Audit events"
            total={list.data.total}
            limit={LIMIT}
            offset={offset}
            onChange={setOffset}
          />
        </>
      )}
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
