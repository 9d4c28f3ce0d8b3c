// Card layouts (reference 002): the layouts, a new one (blank, or from a built-in template such as
// the PIV layout), and the editor of one (layout/LayoutEditor.tsx) with a live preview of both sides.
import { useState } from 'react';
import { api } from '../../api';
import { ConfirmDialog } from '../../components/ConfirmDialog';
import { ErrorPanel } from '../../components/ErrorPanel';
import { Loading, PageHeader } from '../../components/Status';
import { useAction, useLoad, useTitle } from '../../hooks';
import { useSession } from '../../session';
import type { Layout, LayoutDefinition } from '../../types';
import { LayoutEditor, type EditedLayout } from './layout/LayoutEditor';

const blank = (orientation: LayoutDefinition['orientation']): LayoutDefinition => ({
  orientation,
  front: { background: '#FFFFFF', elements: [] },
  back: { background: '#FFFFFF', elements: [] },
});

export function LayoutsPage() {
  useTitle('Card layouts');
  const { can } = useSession();
  const list = useLoad(() => api.layouts.list(), []);
  const templates = useLoad(() => api.layouts.templates(), []);
  const [editing, setEditing] = useState<{ key: string; layout: EditedLayout } | null>(null);
  const [start, setStart] = useState('blank:landscape');
  const [saved, setSaved] = useState('');
  const [deleting, setDeleting] = useState<Layout | null>(null);
  const del = useAction();

  const startNew = () => {
    const [kind, which] = start.split(':') as [string, string];
    const template = templates.data?.items.find((t) => t.id === which);
    const definition =
      kind === 'template' && template
        ? (structuredClone(template.definition) as LayoutDefinition)
        : blank(which === 'portrait' ? 'portrait' : 'landscape');
    setSaved('');
    setEditing({
      key: `new:${start}:${Date.now()}`,
      layout: {
        name: template && kind === 'template' ? `${template.name} (copy)` : '',
        description: '',
        definition,
      },
    });
  };

  return (
    <>
      <PageHeader
        title="Card layouts"
        intro="What is printed on both sides of a card: elements in millimetres, checked against the chip zone."
      />
      <ErrorPanel error={list.error} title="Could not load the layouts" />
      {list.loading && !list.data && <Loading what="Loading layouts" />}
      {list.data && (
        <ul className="plain-list">
          {list.data.items.length === 0 && <li className="muted">No layout yet: printing needs one.</li>}
          {list.data.items.map((l) => (
            <li key={l.id}>
              <button
                type="button"
                className="btn btn-small"
                onClick={() => {
                  setSaved('');
                  setEditing({
                    key: `${l.id}:${l.updatedAt}`,
                    layout: {
                      id: l.id,
                      name: l.name,
                      description: l.description,
                      definition: l.definition as LayoutDefinition,
                    },
                  });
                }}
              >
                {can('policy.write') ? 'Edit' : 'Open'} {l.name}
              </button>{' '}
              {can('policy.write') && (
                <button type="button" className="btn btn-small btn-danger" onClick={() => setDeleting(l)}>
                  Delete {l.name}
                </button>
              )}
            </li>
          ))}
        </ul>
      )}
      {can('policy.write') && (
        <div className="layout-editor__row">
          <div className="field">
            <label htmlFor="layout-start">Start a new layout from</label>
            <select id="layout-start" value={start} onChange={(e) => setStart(e.target.value)}>
              <option value="blank:landscape">A blank card, landscape</option>
              <option value="blank:portrait">A blank card, portrait</option>
              {templates.data?.items.map((t) => (
                <option key={t.id} value={`template:${t.id}`}>
                  The template {t.name}
                </option>
              ))}
            </select>
          </div>
          <button type="button" className="btn" onClick={startNew}>
            New layout
          </button>
        </div>
      )}
      <ErrorPanel error={del.error} title="The layout was not deleted" />
      {saved && (
        <p className="notice" role="status">
          {saved}
        </p>
      )}
      {editing && (
        <LayoutEditor
          key={editing.key}
          layout={editing.layout}
          onSaved={(l) => {
            setSaved(`Layout “${l.name}” saved.`);
            setEditing({
              key: `${l.id}:${l.updatedAt}`,
              layout: {
                id: l.id,
                name: l.name,
                description: l.description,
                definition: l.definition as LayoutDefinition,
              },
            });
            list.reload();
          }}
        />
      )}
      <ConfirmDialog
        open={deleting !== null}
        title={`Delete the layout “${deleting?.name ?? ''}”?`}
        confirmLabel="Delete"
        danger
        busy={del.busy}
        error={del.error}
        onCancel={() => {
          del.clear();
          setDeleting(null);
        }}
        onConfirm={() =>
          void (async () => {
            if (!deleting) return;
            const done = await del.run(async () => {
              await api.layouts.remove(deleting.id);
              return true;
            });
            if (!done) return;
            if (editing?.layout.id === deleting.id) setEditing(null);
            setDeleting(null);
            list.reload();
          })()
        }
      >
        Cards already printed with it are not affected.
      </ConfirmDialog>
    </>
  );
}
