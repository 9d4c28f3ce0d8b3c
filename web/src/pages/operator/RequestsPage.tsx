// Requests (reference 003): the replacement requests in queues, one per role's next step — awaiting
// approval (validation officer), awaiting binding and awaiting issuance (issuance officer) — and all
// of them with filters (state, kind, person). Queue and filters live in the URL.
//
// A queue is the open requests of one or two states narrowed here by what they wait for
// (`waitingFor`; the API filters by state, kind and person): open requests are few, so one page of
// 200 holds a queue.
import { Link } from 'react-router-dom';
import { api } from '../../api';
import { Badge } from '../../components/Badge';
import { ListTable, SelectFilter } from '../../components/ListTable';
import { SearchBox } from '../../components/SearchBox';
import { PageHeader } from '../../components/Status';
import { useListParams } from '../../components/useListParams';
import { formatDateTime, humanize } from '../../format';
import { useLoad, useTitle } from '../../hooks';
import { useSession } from '../../session';
import {
  REQUEST_KINDS,
  REQUEST_STATES,
  type Page,
  type ReplacementRequest,
  type RequestState,
} from '../../types';
import { requestWhat, serialsOf } from './request-words';

const LIMIT = 25;

type QueueName = 'approval' | 'binding' | 'issuance' | 'all';
interface Queue {
  label: string;
  explain: string;
  states: RequestState[];
  keep: (r: ReplacementRequest) => boolean;
}

export const QUEUES: Record<Exclude<QueueName, 'all'>, Queue> = {
  approval: {
    label: 'Awaiting approval',
    explain: 'Problems people declared in the user portal: a validation officer approves or rejects each.',
    states: ['submitted'],
    keep: (r) => r.waitingFor === 'approval',
  },
  binding: {
    label: 'Awaiting binding',
    explain: 'Self-enrollment requests with no device yet: bind a blank device to the person (optional).',
    states: ['approved'],
    keep: (r) => r.waitingFor === 'binding',
  },
  issuance: {
    label: 'Awaiting issuance',
    explain:
      'Local issuance: an issuance officer personalizes the replacement and hands it over (or activates the printed card held back as pending).',
    states: ['approved', 'bound'],
    keep: (r) => r.waitingFor === 'issuance' || r.waitingFor === 'activation',
  },
};

/** The queue a role looks at first. */
function defaultQueue(can: (p: 'request.approve' | 'device.issue') => boolean): QueueName {
  if (can('request.approve')) return 'approval';
  if (can('device.issue')) return 'issuance';
  return 'all';
}

export function RequestsPage() {
  useTitle('Requests');
  const { can } = useSession();
  const { values, offset, setFilter, setOffset } = useListParams([
    'queue',
    'state',
    'kind',
    'person',
  ] as const);
  const queue =
    (['approval', 'binding', 'issuance', 'all'] as const).find((q) => q === values.queue) ??
    defaultQueue(can);

  // The person filter is typed as a username (or part of a name) and becomes the API's userId.
  const person = useLoad(
    () =>
      values.person
        ? api.users
            .list({ q: values.person, limit: 25 })
            .then(
              (p) =>
                p.items.find((u) => u.username === values.person) ??
                (p.items.length === 1 ? p.items[0]! : null),
            )
        : Promise.resolve(undefined),
    [values.person],
  );
  const userId = person.data?.id;

  const list = useLoad(async (): Promise<Page<ReplacementRequest>> => {
    if (values.person && person.data === null) return { items: [], total: 0 };
    if (values.person && !userId) return new Promise(() => {}); // waits for the person's id
    if (queue === 'all')
      return api.requests.list({ state: values.state, kind: values.kind, userId, limit: LIMIT, offset });
    const q = QUEUES[queue];
    const pages = await Promise.all(
      q.states.map((state) => api.requests.list({ state, kind: 'replacement', userId, limit: 200 })),
    );
    const items = pages
      .flatMap((p) => p.items)
      .filter(q.keep)
      .sort((a, b) => a.number - b.number); // oldest first: a queue is worked in order
    return { items, total: items.length };
  }, [queue, values.state, values.kind, values.person, userId, person.data, offset]);

  const tab = (name: QueueName, label: string) => (
    <li key={name}>
      <Link
        to={`?queue=${name}${values.person ? `&person=${encodeURIComponent(values.person)}` : ''}`}
        aria-current={queue === name ? 'page' : undefined}
        className={queue === name ? 'active' : ''}
      >
        {label}
      </Link>
    </li>
  );

  return (
    <>
      <PageHeader
        title="Requests"
        intro="Replacement requests: lost, stolen, damaged, expired and forgotten devices."
      />
      <nav aria-label="Queues" className="queue-tabs">
        <ul>
          {(Object.keys(QUEUES) as (keyof typeof QUEUES)[]).map((q) => tab(q, QUEUES[q].label))}
          {tab('all', 'All requests')}
        </ul>
      </nav>
      {queue !== 'all' && <p className="muted">{QUEUES[queue].explain}</p>}
      <form
        className="filters"
        role="search"
        aria-label="Filter requests"
        onSubmit={(e) => e.preventDefault()}
      >
        <SearchBox
          id="requests-person"
          label="Person"
          placeholder="Username or name"
          value={values.person}
          onSearch={(p) => setFilter('person', p)}
        />
        {queue === 'all' && (
          <>
            <SelectFilter
              id="requests-state"
              label="State"
              value={values.state}
              onChange={(v) => setFilter('state', v)}
              any="Any state"
              options={REQUEST_STATES.map((s) => ({ value: s, label: humanize(s) }))}
            />
            <SelectFilter
              id="requests-kind"
              label="Kind"
              value={values.kind}
              onChange={(v) => setFilter('kind', v)}
              any="Any kind"
              options={REQUEST_KINDS.map((k) => ({ value: k, label: humanize(k) }))}
            />
          </>
        )}
      </form>
      {values.person && person.data === null && (
        <p className="notice" role="status">
          Nobody matches “{values.person}”.
        </p>
      )}
      <ListTable
        list={list}
        caption={queue === 'all' ? 'All requests' : QUEUES[queue].label}
        errorTitle="Could not load the requests"
        loadingText="Loading requests"
        emptyText={queue === 'all' ? 'No request matches these filters.' : 'Nothing is waiting here.'}
        columns={['Request', 'Person', 'What', 'Devices', 'State', 'Created']}
        row={(r) => (
          <tr key={r.id}>
            <td>
              <Link to={`/operator/requests/${r.id}`}>Request #{r.number}</Link>
            </td>
            <td>{r.person ? r.person.displayName : <span className="muted">unknown</span>}</td>
            <td className="cell-wrap">{requestWhat(r)}</td>
            <td className="mono">{serialsOf(r)}</td>
            <td>
              <Badge value={r.state} />
            </td>
            <td>{formatDateTime(r.createdAt)}</td>
          </tr>
        )}
        limit={queue === 'all' ? LIMIT : 200}
        offset={queue === 'all' ? offset : 0}
        onOffset={setOffset}
      />
    </>
  );
}
