// The audit log: who changed what, when; and a check that the hash chain is unbroken.
import { Fragment, useState, type ReactNode } from 'react';
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
import type { AuditEvent, AuditVerification } from '../../types';
import { refTypeOfKey } from '../../../../src/domain/audit-refs.ts';

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
      <div className="audit-log">
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
                <AuditActor event={e} onFilter={(id) => setFilter('actorId', id)} />
              </td>
              <td className="mono">
                <ActionName action={e.action} />
              </td>
              <td>
                <AuditTarget event={e} />
              </td>
              <td>
                <AuditDetails event={e} />
              </td>
            </tr>
          )}
          limit={LIMIT}
          offset={offset}
          onOffset={setOffset}
          compact
        />
      </div>
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

type Ref = AuditEvent['refs'][number];

/** An action's dotted name, breakable only after its dots and underscores (not mid-word). */
function ActionName({ action }: { action: string }) {
  return (
    <>
      {action.split(/(?<=[._])/).map((part, i) => (
        <Fragment key={i}>
          {i > 0 && <wbr />}
          {part}
        </Fragment>
      ))}
    </>
  );
}

/** Where each kind of thing is shown in the operator portal. */
function refPage(r: Ref): string {
  const id = encodeURIComponent(r.id);
  switch (r.type) {
    case 'user':
      return `/operator/users/${id}`;
    case 'device':
      return `/operator/devices?q=${encodeURIComponent(r.name)}`;
    case 'certificate':
      return `/operator/certificates/${id}`;
    case 'policy':
      return `/operator/policies/${id}`;
    case 'request':
      return `/operator/requests/${id}`;
    case 'agent':
      return '/operator/agents';
    case 'ca':
      return '/operator/ca';
    case 'layout':
      return '/operator/layouts';
  }
}

const KIND: Record<Ref['type'], string> = {
  user: 'person',
  device: 'device',
  certificate: 'certificate',
  agent: 'agent',
  policy: 'policy',
  request: 'request',
  ca: 'CA',
  layout: 'layout',
};

/** The ref of an id in this event, if its name is known. */
const refOf = (e: AuditEvent, type: Ref['type'] | null, id: unknown): Ref | undefined =>
  typeof id === 'string' && type
    ? e.refs.find((r) => r.type === type && r.id.toLowerCase() === id.toLowerCase())
    : undefined;

/** A thing by its name, linking to its page; the id stays in the expanded ids. */
function RefLink({ r }: { r: Ref }) {
  // A certificate by what it is and whose: "PIV authentication · Bob Baker".
  const label = r.type === 'certificate' && r.detail ? `${humanize(r.detail)} · ${r.name}` : r.name;
  return (
    <Link to={refPage(r)} title={r.type === 'certificate' ? undefined : (r.detail ?? undefined)}>
      {label}
    </Link>
  );
}

function AuditActor({ event: e, onFilter }: { event: AuditEvent; onFilter: (id: string) => void }) {
  const r = refOf(e, 'user', e.actorId);
  if (!e.actorId) return <span>{e.actorName}</span>;
  return (
    <span className="audit-actor">
      {r ? <RefLink r={r} /> : <span>{e.actorName}</span>}{' '}
      <button
        type="button"
        className="btn-link small"
        onClick={() => onFilter(e.actorId!)}
        aria-label={`Show only events by ${r?.name ?? e.actorName}`}
        title="Show only this actor's events"
      >
        only theirs
      </button>
    </span>
  );
}

/** The target's kind in words and its name, linking to its page; its id when it has no name. */
function AuditTarget({ event: e }: { event: AuditEvent }) {
  const r = refOf(e, e.targetType as Ref['type'], e.targetId);
  const id = e.targetId;
  return (
    <>
      <span className="muted">{humanize(e.targetType)}</span>{' '}
      {r ? (
        <RefLink r={r} />
      ) : (
        id && (
          <span className="mono small" title={id}>
            {id.length > 14 ? `${id.slice(0, 8)}…` : id}
          </span>
        )
      )}
    </>
  );
}

const isIdKey = (k: string) => /Ids?$/.test(k);
/** "ownerUserId" → "Owner person", "fromAgentId" → "From agent", "serial" → "Serial". */
function keyLabel(k: string): string {
  const type = refTypeOfKey(k);
  if (!type) return humanize(k);
  const words = humanize(k.replace(/Ids?$/, '')).split(' ');
  words[words.length - 1] = KIND[type];
  const label = words.join(' ');
  return label.charAt(0).toUpperCase() + label.slice(1);
}

/** A value in words: ids of known things by their names, nested objects as "key value, …". */
function inWords(e: AuditEvent, key: string, value: unknown): ReactNode {
  const type = refTypeOfKey(key);
  if (type) {
    const ids = Array.isArray(value) ? value : [value];
    const refs = ids.map((id) => refOf(e, type, id));
    if (refs.every(Boolean))
      return refs.map((r, i) => (
        <span key={r!.id}>
          {i > 0 && ', '}
          <RefLink r={r!} />
        </span>
      ));
  }
  if (value === null || value === undefined) return '—';
  if (Array.isArray(value)) {
    if (value.length === 0) return '(none)';
    return value.map((v, i) => (
      <span key={i} className={typeof v === 'object' && v !== null ? 'audit-details__item' : undefined}>
        {i > 0 && typeof v !== 'object' && ', '}
        {inWords(e, key, v)}
      </span>
    ));
  }
  if (typeof value === 'object') {
    const entries = Object.entries(value).filter(([k, v]) => !(isIdKey(k) && !refOf(e, refTypeOfKey(k), v)));
    return entries.map(([k, v], i) => (
      <span key={k}>
        {i > 0 && ', '}
        <span className="muted">{keyLabel(k)}</span> {inWords(e, k, v)}
      </span>
    ));
  }
  return String(value);
}

/** Every id the event carries, raw: actor, target, details' ids (nested too) and correlation id. */
function rawIds(e: AuditEvent): [string, string][] {
  const out: [string, string][] = [];
  if (e.actorId) out.push(['actor', e.actorId]);
  if (e.targetId) out.push([`target (${e.targetType})`, e.targetId]);
  const walk = (path: string, v: unknown) => {
    if (Array.isArray(v)) v.forEach((x, i) => walk(`${path}[${i}]`, x));
    else if (v !== null && typeof v === 'object')
      for (const [k, x] of Object.entries(v)) walk(path ? `${path}.${k}` : k, x);
    else if (
      typeof v === 'string' &&
      isIdKey(
        path
          .replace(/\[\d+\]$/, '')
          .split('.')
          .pop() ?? '',
      )
    )
      out.push([path, v]);
  };
  walk('', e.details);
  if (e.correlationId) out.push(['correlation', e.correlationId]);
  return out;
}

/**
 * An event's details in words: what it refers to by name (linked), other values as they are. The
 * raw ids — actor, target, details' ids, correlation id — wait behind "Ids" (issue 19 item 11).
 */
function AuditDetails({ event: e }: { event: AuditEvent }) {
  // An id with no name (a job, a link code, a thing since deleted) is only in the expanded ids.
  const entries = Object.entries(e.details ?? {}).filter(
    ([k, v]) => !(isIdKey(k) && !refOf(e, refTypeOfKey(k), Array.isArray(v) ? v[0] : v)),
  );
  const ids = rawIds(e);
  return (
    <>
      {entries.length === 0 ? (
        <span className="muted">—</span>
      ) : (
        <dl className="audit-details">
          {entries.map(([k, v]) => (
            <div key={k}>
              <dt>{keyLabel(k)}</dt>
              <dd>{inWords(e, k, v)}</dd>
            </div>
          ))}
        </dl>
      )}
      {ids.length > 0 && (
        <details className="audit-ids">
          <summary>Ids</summary>
          <dl>
            {ids.map(([k, v]) => (
              <div key={k}>
                <dt>{k}</dt>
                <dd className="mono">{v}</dd>
              </div>
            ))}
          </dl>
        </details>
      )}
    </>
  );
}
