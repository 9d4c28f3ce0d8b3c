// Device inventory: find cards, tokens and mobile smart cards; register one; import many from CSV
// with a per-row report of what was created and what was refused (and why).
import { useEffect, useRef, useState, type FormEvent } from 'react';
import { Link } from 'react-router-dom';
import { api } from '../../api';
import { Badge } from '../../components/Badge';
import { ListTable, SelectFilter, FilterChip } from '../../components/ListTable';
import { ErrorPanel } from '../../components/ErrorPanel';
import { SearchBox } from '../../components/SearchBox';
import { PageHeader, StatusMessage } from '../../components/Status';
import { useListParams } from '../../components/useListParams';
import { deviceTypeLabel, formatDate, humanize } from '../../format';
import { useAction, useLoad, useTitle } from '../../hooks';
import { useSession } from '../../session';
import { RECYCLABLE, RecycleDialog } from '../../issuance/RecycleDialog';
import { DEVICE_STATES, DEVICE_TYPES, type Device, type DeviceType, type ImportReport } from '../../types';

const LIMIT = 25;

export function DevicesPage() {
  useTitle('Devices');
  const { can } = useSession();
  const { values, offset, setFilter, setOffset } = useListParams(['q', 'state', 'type', 'userId'] as const);
  const [panel, setPanel] = useState<'register' | 'import' | null>(null);
  const toggle = (which: 'register' | 'import') => setPanel((p) => (p === which ? null : which));
  const [recycling, setRecycling] = useState<Device | null>(null);
  const [recycled, setRecycled] = useState('');
  const list = useLoad(
    () =>
      api.devices.list({
        q: values.q,
        state: values.state,
        type: values.type,
        userId: values.userId,
        limit: LIMIT,
        offset,
      }),
    [values.q, values.state, values.type, values.userId, offset],
  );

  return (
    <>
      <PageHeader
        title="Devices"
        intro="Smart cards, USB tokens and mobile smart cards, from inventory to end of life."
        actions={
          can('device.register') && (
            <>
              <button
                type="button"
                className={`btn${panel === 'register' ? ' btn-pressed' : ''}`}
                aria-expanded={panel === 'register'}
                aria-controls="register-panel"
                onClick={() => toggle('register')}
              >
                Register a device
              </button>
              <button
                type="button"
                className={`btn${panel === 'import' ? ' btn-pressed' : ''}`}
                aria-expanded={panel === 'import'}
                aria-controls="import-panel"
                onClick={() => toggle('import')}
              >
                Import from CSV
              </button>
            </>
          )
        }
      />
      {panel === 'register' && <RegisterDevice onRegistered={list.reload} onClose={() => setPanel(null)} />}
      {panel === 'import' && <ImportDevices onImported={list.reload} onClose={() => setPanel(null)} />}
      <form
        className="filters"
        role="search"
        aria-label="Filter devices"
        onSubmit={(e) => e.preventDefault()}
      >
        <SearchBox
          id="devices-q"
          label="Search devices"
          placeholder="Serial, model or notes"
          value={values.q}
          onSearch={(q) => setFilter('q', q)}
        />
        <SelectFilter
          id="devices-state"
          label="State"
          value={values.state}
          onChange={(v) => setFilter('state', v)}
          any="Any state"
          options={DEVICE_STATES.map((s) => ({ value: s, label: humanize(s) }))}
        />
        <SelectFilter
          id="devices-type"
          label="Type"
          value={values.type}
          onChange={(v) => setFilter('type', v)}
          any="Any type"
          options={DEVICE_TYPES.map((t) => ({ value: t, label: deviceTypeLabel(t) }))}
        />
        {values.userId && (
          <FilterChip clearLabel="Clear user filter" onClear={() => setFilter('userId', '')}>
            Assigned to one user
          </FilterChip>
        )}
      </form>

      <ListTable
        list={list}
        caption="Devices"
        errorTitle="Could not load devices"
        loadingText="Loading devices"
        emptyText="No devices match these filters."
        columns={['Serial', 'Type', 'Model', 'State', 'Assigned to', 'Registered', 'Notes', 'Actions']}
        row={(d) => (
          <tr key={d.id}>
            <td className="mono nowrap">{d.serial}</td>
            <td>{deviceTypeLabel(d.type)}</td>
            <td>{d.model || <span className="muted">—</span>}</td>
            <td>
              <Badge value={d.state} />
            </td>
            <td>
              {d.userId ? (
                <Link to={`/operator/users/${d.userId}`}>
                  {d.holder ? `${d.holder.displayName} (${d.holder.username})` : 'View user'}
                </Link>
              ) : (
                <span className="muted">nobody</span>
              )}
            </td>
            <td>{formatDate(d.createdAt)}</td>
            <td className="cell-notes">{d.notes || <span className="muted">—</span>}</td>
            <td>
              {RECYCLABLE.includes(d.state) && can('device.recycle') && (
                <button type="button" className="btn btn-small" onClick={() => setRecycling(d)}>
                  Recycle
                </button>
              )}
            </td>
          </tr>
        )}
        limit={LIMIT}
        offset={offset}
        onOffset={setOffset}
      />
      <StatusMessage>{recycled}</StatusMessage>
      {recycling && (
        <RecycleDialog
          device={recycling}
          onClose={() => setRecycling(null)}
          onRecycled={(d) => {
            setRecycling(null);
            setRecycled(`Device ${d.serial} was wiped and is back in the inventory.`);
            list.reload();
          }}
        />
      )}
    </>
  );
}

function RegisterDevice({ onRegistered, onClose }: { onRegistered: () => void; onClose: () => void }) {
  const [serial, setSerial] = useState('');
  const [type, setType] = useState<DeviceType>('piv_card');
  const [model, setModel] = useState('');
  const [notes, setNotes] = useState('');
  const [status, setStatus] = useState('');
  const action = useAction();
  const serialRef = useRef<HTMLInputElement>(null);
  useEffect(() => serialRef.current?.focus(), []);

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setStatus('');
    const device = await action.run(() =>
      api.devices.register({
        serial: serial.trim(),
        type,
        ...(model.trim() ? { model: model.trim() } : {}),
        ...(notes.trim() ? { notes: notes.trim() } : {}),
      }),
    );
    if (device) {
      setStatus(`Registered ${deviceTypeLabel(device.type).toLowerCase()} ${device.serial} in inventory.`);
      setSerial('');
      setNotes('');
      serialRef.current?.focus();
      onRegistered();
    }
  };

  return (
    <section className="card panel" id="register-panel" aria-labelledby="register-h">
      <div className="card__head">
        <h2 id="register-h">Register a device</h2>
        <button type="button" className="btn btn-ghost btn-small" onClick={onClose}>
          Close
        </button>
      </div>
      <form className="form" onSubmit={(e) => void submit(e)}>
        <div className="form-grid">
          <div className="field">
            <label htmlFor="reg-serial">Serial number</label>
            <input
              id="reg-serial"
              ref={serialRef}
              required
              autoComplete="off"
              value={serial}
              onChange={(e) => setSerial(e.target.value)}
            />
          </div>
          <div className="field">
            <label htmlFor="reg-type">Device type</label>
            <select id="reg-type" value={type} onChange={(e) => setType(e.target.value as DeviceType)}>
              {DEVICE_TYPES.map((t) => (
                <option key={t} value={t}>
                  {deviceTypeLabel(t)}
                </option>
              ))}
            </select>
          </div>
          <div className="field">
            <label htmlFor="reg-model">Model (optional)</label>
            <input id="reg-model" value={model} onChange={(e) => setModel(e.target.value)} />
          </div>
        </div>
        <div className="field">
          <label htmlFor="reg-notes">Notes (optional)</label>
          <textarea id="reg-notes" rows={2} value={notes} onChange={(e) => setNotes(e.target.value)} />
        </div>
        <ErrorPanel error={action.error} title="The device was not registered" />
        <StatusMessage>{status}</StatusMessage>
        <div className="form-actions">
          <button type="submit" className="btn btn-primary" disabled={action.busy}>
            {action.busy ? 'Registering…' : 'Register device'}
          </button>
        </div>
      </form>
    </section>
  );
}

const CSV_EXAMPLE = 'serial,type,model,notes\nPIV-000123,piv_card,Generic PIV card,batch 7\n';

function ImportDevices({ onImported, onClose }: { onImported: () => void; onClose: () => void }) {
  const [csv, setCsv] = useState('');
  const [fileNote, setFileNote] = useState('');
  const [report, setReport] = useState<ImportReport | null>(null);
  const action = useAction();

  const readFile = async (file: File | undefined) => {
    if (!file) return;
    setCsv(await file.text());
    setFileNote(`Loaded ${file.name} (${file.size} bytes). Check it below, then import.`);
  };

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setReport(null);
    const result = await action.run(() => api.devices.importCsv(csv));
    if (result) {
      setReport(result);
      if (result.created > 0) onImported();
    }
  };

  return (
    <section className="card panel" id="import-panel" aria-labelledby="import-h">
      <div className="card__head">
        <h2 id="import-h">Import devices from CSV</h2>
        <button type="button" className="btn btn-ghost btn-small" onClick={onClose}>
          Close
        </button>
      </div>
      <form className="form" onSubmit={(e) => void submit(e)}>
        <p className="muted">
          One device a line, with the header <code>serial,type,model,notes</code>; model and notes may be
          empty. Types:{' '}
          {DEVICE_TYPES.map((t, i) => (
            <span key={t}>
              {i > 0 && ', '}
              <code>{t}</code>
            </span>
          ))}
          .
        </p>
        <div className="field">
          <label htmlFor="import-file">CSV file</label>
          <input
            id="import-file"
            type="file"
            accept=".csv,text/csv,text/plain"
            onChange={(e) => void readFile(e.target.files?.[0])}
          />
        </div>
        <div className="field">
          <label htmlFor="import-csv">CSV content</label>
          <textarea
            id="import-csv"
            className="mono"
            rows={6}
            required
            placeholder={CSV_EXAMPLE}
            value={csv}
            onChange={(e) => setCsv(e.target.value)}
            spellCheck={false}
          />
        </div>
        <StatusMessage>{fileNote}</StatusMessage>
        <ErrorPanel error={action.error} title="The import did not run" />
        <div className="form-actions">
          <button type="submit" className="btn btn-primary" disabled={action.busy || !csv.trim()}>
            {action.busy ? 'Importing…' : 'Import'}
          </button>
        </div>
      </form>
      <div aria-live="polite">
        {report && (
          <div className="import-report">
            <h3>
              Import report: {report.created} created, {report.refused} refused
            </h3>
            <div className="table-wrap">
              <table className="table table--compact">
                <caption className="visually-hidden">Import result per line</caption>
                <thead>
                  <tr>
                    <th scope="col">Line</th>
                    <th scope="col">Serial</th>
                    <th scope="col">Result</th>
                    <th scope="col">Why</th>
                  </tr>
                </thead>
                <tbody>
                  {report.rows.map((r) => (
                    <tr key={r.line}>
                      <td>{r.line}</td>
                      <td className="mono nowrap">{r.serial ?? <span className="muted">—</span>}</td>
                      <td>
                        <Badge value={r.status} />
                      </td>
                      <td>{r.error ?? ''}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
          </div>
        )}
      </div>
    </section>
  );
}
