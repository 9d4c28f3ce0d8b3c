// Card layouts (reference 002): the layouts, and an editor of one with a live preview of both sides.
// Elements are placed in millimetres; the preview is the server's renderer (the same as printing)
// drawing the unsaved draft. The domain's checks run here as one types — an element over the chip
// zone, off the card, or naming an unknown property is refused with a message naming the element —
// and again on the server when saving.
import { useEffect, useMemo, useState } from 'react';
import { api } from '../../api';
import { ErrorPanel } from '../../components/ErrorPanel';
import { PdfPreview } from '../../components/PdfPreview';
import { Loading, PageHeader } from '../../components/Status';
import { useAction, useLoad, useTitle } from '../../hooks';
import { useSession } from '../../session';
import { layoutProblems, type Layout, type LayoutDefinition } from '../../types';

const SIDES = ['front', 'back'] as const;
const BOX = ['x', 'y', 'width', 'height'] as const;

/** The draft after `ms` without a change: the preview is not redrawn at every keystroke. */
function useSettled<T>(value: T, ms: number): T {
  const [settled, setSettled] = useState(value);
  useEffect(() => {
    const t = window.setTimeout(() => setSettled(value), ms);
    return () => window.clearTimeout(t);
  }, [value, ms]);
  return settled;
}

function LayoutEditor({ layout, onSaved }: { layout: Layout; onSaved: (l: Layout) => void }) {
  const { can } = useSession();
  const [name, setName] = useState(layout.name);
  const [def, setDef] = useState<LayoutDefinition>(layout.definition as LayoutDefinition);
  const properties = useLoad(() => api.layouts.properties(), []);
  const save = useAction();
  const problems = useMemo(
    () => (properties.data ? layoutProblems(def, { knownProperties: new Set(properties.data.items) }) : []),
    [def, properties.data],
  );
  const draft = useSettled(def, 400);
  const draftKey = JSON.stringify(draft);
  const editable = can('policy.write');

  const setBox = (side: (typeof SIDES)[number], i: number, key: (typeof BOX)[number], v: number) =>
    setDef((d) => ({
      ...d,
      [side]: {
        ...d[side],
        elements: d[side].elements.map((e, n) => (n === i ? { ...e, [key]: v } : e)),
      },
    }));

  const submit = async () => {
    const out = await save.run(() =>
      api.layouts.update(layout.id, {
        name,
        description: layout.description,
        definition: def as Layout['definition'],
      }),
    );
    if (out) onSaved(out);
  };

  return (
    <section className="card" aria-labelledby="layout-editor-h">
      <div className="card__head">
        <h2 id="layout-editor-h">Edit “{layout.name}”</h2>
      </div>
      <div className="layout-editor">
        <div>
          <div className="field">
            <label htmlFor="layout-name">Layout name</label>
            <input
              id="layout-name"
              value={name}
              disabled={!editable}
              onChange={(e) => setName(e.target.value)}
            />
          </div>
          <p className="muted small">
            Card {def.orientation}; positions and sizes in millimetres from the side’s top-left corner.
          </p>
          {SIDES.map((side) => (
            <div className="table-wrap" key={side}>
              <table className="table">
                <caption>{side === 'front' ? 'Front' : 'Back'} elements</caption>
                <thead>
                  <tr>
                    <th scope="col">Element</th>
                    {BOX.map((k) => (
                      <th scope="col" key={k}>
                        {k} (mm)
                      </th>
                    ))}
                  </tr>
                </thead>
                <tbody>
                  {def[side].elements.map((e, i) => (
                    <tr key={`${side}-${i}`}>
                      <th scope="row">
                        {e.name} <span className="muted small">{e.kind}</span>
                      </th>
                      {BOX.map((k) => (
                        <td key={k}>
                          <input
                            type="number"
                            step="0.5"
                            className="input-narrow"
                            aria-label={`${side} ${e.name} ${k} (mm)`}
                            value={e[k]}
                            disabled={!editable}
                            onChange={(ev) => setBox(side, i, k, Number(ev.target.value))}
                          />
                        </td>
                      ))}
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
          ))}
        </div>
        <div>
          <h3>Preview</h3>
          <PdfPreview
            load={() => api.layouts.previewDraft({ definition: draft as Layout['definition'] })}
            deps={[draftKey]}
            label={`Preview of the layout “${name}”`}
          />
          {problems.length > 0 && (
            <div className="error-panel" role="alert" aria-label="Layout problems">
              <p>
                <strong>This layout cannot be saved:</strong>
              </p>
              <ul>
                {problems.map((p) => (
                  <li key={p}>{p}</li>
                ))}
              </ul>
            </div>
          )}
        </div>
      </div>
      <ErrorPanel error={properties.error} title="Could not load the properties a layout may print" />
      <ErrorPanel error={save.error} title="The layout was not saved" />
      {editable && (
        <div className="form-actions">
          <button
            type="button"
            className="btn btn-primary"
            disabled={problems.length > 0 || save.busy || !name.trim()}
            onClick={() => void submit()}
          >
            {save.busy ? 'Saving…' : 'Save layout'}
          </button>
        </div>
      )}
    </section>
  );
}

export function LayoutsPage() {
  useTitle('Card layouts');
  const list = useLoad(() => api.layouts.list(), []);
  const [chosen, setChosen] = useState('');
  const [saved, setSaved] = useState('');
  const layout = list.data?.items.find((l) => l.id === chosen);
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
          {list.data.items.map((l) => (
            <li key={l.id}>
              <button type="button" className="btn btn-small" onClick={() => setChosen(l.id)}>
                Edit {l.name}
              </button>
            </li>
          ))}
        </ul>
      )}
      {saved && (
        <p className="notice" role="status">
          {saved}
        </p>
      )}
      {layout && (
        <LayoutEditor
          key={`${layout.id}:${layout.updatedAt}`}
          layout={layout}
          onSaved={(l) => {
            setSaved(`Layout “${l.name}” saved.`);
            list.reload();
          }}
        />
      )}
    </>
  );
}
