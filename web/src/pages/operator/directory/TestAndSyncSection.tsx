// Test connection and Sync now, on the saved settings: the result of each, and the sync report.
// What they found is this section's own; a save forgets the last test (it tested other settings).
import { useEffect, useId, useState } from 'react';
import { Link } from 'react-router-dom';
import { api } from '../../../api';
import { ErrorPanel } from '../../../components/ErrorPanel';
import { useAction } from '../../../hooks';
import type { DirectorySyncReport, DirectoryTestResult, DirectoryView } from '../../../types';

interface Props {
  /** The saved settings, which both use. */
  view: DirectoryView;
  /** The form holds changes not saved yet. */
  dirty: boolean;
  saving: boolean;
  /** Told when a test or a sync starts and ends, so nothing is saved meanwhile. */
  onBusy: (busy: boolean) => void;
}

export function TestAndSyncSection({ view, dirty, saving, onBusy }: Props) {
  const heading = useId();
  const [tested, setTested] = useState<DirectoryTestResult | null>(null);
  const [report, setReport] = useState<DirectorySyncReport | null>(null);
  const [testedView, setTestedView] = useState(view);
  const test = useAction();
  const sync = useAction();
  const busy = saving || test.busy || sync.busy;

  if (testedView !== view) {
    setTestedView(view);
    setTested(null);
  }
  useEffect(() => onBusy(test.busy || sync.busy), [test.busy, sync.busy, onBusy]);

  const runTest = async () => {
    setTested(null);
    setTested((await test.run(() => api.directory.test())) ?? null);
  };
  const runSync = async () => {
    setReport(null);
    setReport((await sync.run(() => api.directory.sync())) ?? null);
  };

  return (
    <section className="card form-narrow" aria-labelledby={heading}>
      <h2 id={heading}>Test and sync</h2>
      <p className="muted">
        Both use the saved settings.
        {dirty && <strong> You have unsaved changes: save them first.</strong>}
      </p>
      <div className="row-actions">
        <button
          type="button"
          className="btn"
          disabled={busy || dirty || !view.enabled}
          onClick={() => void runTest()}
        >
          {test.busy ? 'Testing…' : 'Test connection'}
        </button>
        <button
          type="button"
          className="btn btn-primary"
          disabled={busy || dirty || !view.enabled}
          onClick={() => void runSync()}
        >
          {sync.busy ? 'Syncing…' : 'Sync now'}
        </button>
      </div>
      {!view.enabled && <p className="muted">Enable the directory and save to test or sync it.</p>}
      <div aria-live="polite">
        {tested && (
          <p className="notice">
            Connection succeeded ({view.bindDn ? `bound as ${view.bindDn}` : 'anonymous search'}). The user
            filter selects <strong>{tested.userCount}</strong> {tested.userCount === 1 ? 'person' : 'people'}.
          </p>
        )}
        {tested?.warnings?.map((w) => (
          <p key={w} className="warning" role="note">
            {w}.
          </p>
        ))}
        {report && <SyncReportView report={report} />}
      </div>
      <ErrorPanel error={test.error} title="The connection test failed" onDismiss={test.clear} />
      <ErrorPanel error={sync.error} title="The sync failed; nothing was changed" onDismiss={sync.clear} />
    </section>
  );
}

function SyncReportView({ report }: { report: DirectorySyncReport }) {
  const rows: [string, number][] = [
    ['Created', report.created],
    ['Updated', report.updated],
    ['Unchanged', report.unchanged],
    ['Suspended (removed from the directory)', report.suspended],
  ];
  return (
    <div className="import-report">
      <h3>Sync report</h3>
      <table className="table table--compact">
        <caption className="visually-hidden">Sync report</caption>
        <tbody>
          {rows.map(([label, n]) => (
            <tr key={label}>
              <th scope="row">{label}</th>
              <td>{n}</td>
            </tr>
          ))}
        </tbody>
      </table>
      {report.errors.length > 0 ? (
        <>
          <h4>
            {report.errors.length} {report.errors.length === 1 ? 'problem' : 'problems'} (entries skipped or
            left as they were)
          </h4>
          <ul className="notes">
            {report.errors.map((e, i) => (
              <li key={i}>{e}</li>
            ))}
          </ul>
        </>
      ) : (
        <p className="muted">No problems.</p>
      )}
      <p>
        <Link to="/operator">See the users</Link> (directory users show “Directory” as their source).
      </p>
    </div>
  );
}
