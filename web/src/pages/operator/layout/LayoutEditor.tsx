// The layout editor (reference 002): both sides of the card, their elements added, removed, placed in
// millimetres and given their value, font and colour; a live preview of both sides drawn by the
// server's renderer (the one that prints) from the unsaved draft. The domain's checks run here as one
// types — an element over the chip zone, off the card, or naming a property nobody has is refused
// with a message naming the element — and again on the server when saving.
import { useEffect, useId, useMemo, useState } from 'react';
import { api } from '../../../api';
import { ErrorPanel } from '../../../components/ErrorPanel';
import { PdfPreview } from '../../../components/PdfPreview';
import { useAction, useLoad } from '../../../hooks';
import { useSession } from '../../../session';
import {
  ADDABLE,
  layoutProblems,
  newElement,
  ORIENTATIONS,
  type Addable,
  type CardSide,
  type Layout,
  type LayoutDefinition,
  type LayoutElement,
} from '../../../types';
import { ElementFields } from './ElementFields';

const SIDES = ['front', 'back'] as const;
const BOX = ['x', 'y', 'width', 'height'] as const;
const SIDE_LABEL = { front: 'Front', back: 'Back' };

/** A layout being edited: a saved one (with its id) or a new one not yet created. */
export interface EditedLayout {
  id?: string;
  name: string;
  description: string;
  definition: LayoutDefinition;
}

/** The draft after `ms` without a change: the preview is not redrawn at every keystroke. */
function useSettled<T>(value: T, ms: number): T {
  const [settled, setSettled] = useState(value);
  useEffect(() => {
    const t = window.setTimeout(() => setSettled(value), ms);
    return () => window.clearTimeout(t);
  }, [value, ms]);
  return settled;
}

function AddElement({ side, onAdd }: { side: CardSide; onAdd: (kind: Addable) => void }) {
  const id = useId();
  const [kind, setKind] = useState<Addable>('text-person');
  return (
    <div className="layout-editor__row">
      <div className="field">
        <label htmlFor={id}>Add to the {side}</label>
        <select id={id} value={kind} onChange={(e) => setKind(e.target.value as Addable)}>
          {ADDABLE.map((a) => (
            <option key={a.id} value={a.id}>
              {a.label}
            </option>
          ))}
        </select>
      </div>
      <button type="button" className="btn btn-small" onClick={() => onAdd(kind)}>
        Add to {side}
      </button>
    </div>
  );
}

/**
 * Whose card the preview draws: a sample person, or someone chosen by username (their photo,
 * properties and name — what their printed card will show). Needs user.read, as the server says.
 */
function PreviewPerson({
  person,
  onChange,
}: {
  person: { id: string; username: string } | null;
  onChange: (p: { id: string; username: string } | null) => void;
}) {
  const [text, setText] = useState('');
  const find = useAction();
  const [missing, setMissing] = useState('');
  const show = async () => {
    const username = text.trim();
    if (!username) return;
    setMissing('');
    const page = await find.run(() => api.users.list({ q: username }));
    const hit = page?.items.find((u) => u.username === username);
    if (hit) onChange({ id: hit.id, username: hit.username });
    else if (page) setMissing(`No person has the username “${username}”`);
  };
  return (
    <div>
      <div className="layout-editor__row">
        <div className="field">
          <label htmlFor="layout-preview-person">Preview the card of (username)</label>
          <input
            id="layout-preview-person"
            maxLength={100}
            value={text}
            onChange={(e) => setText(e.target.value)}
            onKeyDown={(e) => {
              if (e.key === 'Enter') void show();
            }}
          />
        </div>
        <button type="button" className="btn btn-small" onClick={() => void show()}>
          Show this person’s card
        </button>
        {person && (
          <button type="button" className="btn btn-small" onClick={() => onChange(null)}>
            Back to the sample person
          </button>
        )}
      </div>
      <p className="muted small" role="status">
        {person ? `Drawn for ${person.username}.` : 'Drawn for a sample person.'} The serial and dates are
        samples until the card is issued.
      </p>
      {missing && (
        <p className="field-error" role="alert">
          {missing}
        </p>
      )}
      <ErrorPanel error={find.error} title="Could not find that person" />
    </div>
  );
}

export function LayoutEditor({ layout, onSaved }: { layout: EditedLayout; onSaved: (l: Layout) => void }) {
  const { can } = useSession();
  const [name, setName] = useState(layout.name);
  const [def, setDef] = useState<LayoutDefinition>(layout.definition);
  const [selected, setSelected] = useState<{ side: CardSide; index: number } | null>(null);
  const [person, setPerson] = useState<{ id: string; username: string } | null>(null);
  const properties = useLoad(() => api.layouts.properties(), []);
  const save = useAction();
  const known = properties.data?.items ?? [];
  const problems = useMemo(
    () => (properties.data ? layoutProblems(def, { knownProperties: new Set(properties.data.items) }) : []),
    [def, properties.data],
  );
  const draft = useSettled(def, 400);
  const draftKey = JSON.stringify(draft);
  const editable = can('policy.write');

  const setElements = (side: CardSide, f: (els: LayoutElement[]) => LayoutElement[]) =>
    setDef((d) => ({ ...d, [side]: { ...d[side], elements: f(d[side].elements) } }));
  const setElement = (side: CardSide, i: number, e: LayoutElement) =>
    setElements(side, (els) => els.map((x, n) => (n === i ? e : x)));
  const setBox = (side: CardSide, i: number, key: (typeof BOX)[number], v: number) =>
    setElements(side, (els) => els.map((e, n) => (n === i ? { ...e, [key]: v } : e)));
  const add = (side: CardSide, kind: Addable) => {
    const e = newElement(kind, def, side);
    setSelected({ side, index: def[side].elements.length });
    setElements(side, (els) => [...els, e]);
  };
  const remove = (side: CardSide, i: number) => {
    setElements(side, (els) => els.filter((_, n) => n !== i));
    setSelected((s) =>
      !s || s.side !== side ? s : s.index === i ? null : s.index > i ? { side, index: s.index - 1 } : s,
    );
  };
  /** Draw order is list order (the renderer draws each element over the ones before it). */
  const move = (side: CardSide, i: number, by: -1 | 1) => {
    const j = i + by;
    setElements(side, (els) => {
      if (j < 0 || j >= els.length) return els;
      const out = [...els];
      [out[i], out[j]] = [out[j]!, out[i]!];
      return out;
    });
    setSelected({ side, index: j });
  };
  const chosen = selected ? def[selected.side].elements[selected.index] : undefined;

  const submit = async () => {
    const body = { name, description: layout.description, definition: def as Layout['definition'] };
    const out = await save.run(() =>
      layout.id ? api.layouts.update(layout.id, body) : api.layouts.create(body),
    );
    if (out) onSaved(out);
  };

  return (
    <section className="card" aria-labelledby="layout-editor-h">
      <div className="card__head">
        <h2 id="layout-editor-h">
          {!layout.id ? 'New layout' : editable ? `Edit “${layout.name}”` : `Layout “${layout.name}”`}
        </h2>
      </div>
      <div className="layout-editor">
        <div className="layout-editor__controls">
          <fieldset disabled={!editable} className="layout-editor__plain layout-editor__row">
            <div className="field">
              <label htmlFor="layout-name">Layout name</label>
              <input
                id="layout-name"
                maxLength={100}
                value={name}
                onChange={(e) => setName(e.target.value)}
              />
            </div>
            <div className="field">
              <label htmlFor="layout-orientation">Orientation</label>
              <select
                id="layout-orientation"
                value={def.orientation}
                onChange={(e) =>
                  setDef((d) => ({ ...d, orientation: e.target.value as LayoutDefinition['orientation'] }))
                }
              >
                {ORIENTATIONS.map((o) => (
                  <option key={o} value={o}>
                    {o === 'landscape' ? 'Landscape' : 'Portrait'}
                  </option>
                ))}
              </select>
            </div>
          </fieldset>
          <p className="muted small">
            Positions and sizes in millimetres from the side’s top-left corner (the card is 85.6 × 53.98 mm).
          </p>
          {SIDES.map((side) => (
            <div key={side}>
              <h3>{SIDE_LABEL[side]}</h3>
              <fieldset disabled={!editable} className="layout-editor__plain layout-editor__row">
                <div className="field">
                  <label htmlFor={`layout-${side}-bg`}>{SIDE_LABEL[side]} background colour</label>
                  <input
                    id={`layout-${side}-bg`}
                    type="color"
                    value={def[side].background.toLowerCase()}
                    onChange={(e) =>
                      setDef((d) => ({ ...d, [side]: { ...d[side], background: e.target.value } }))
                    }
                  />
                </div>
                <AddElement side={side} onAdd={(kind) => add(side, kind)} />
              </fieldset>
              <div className="table-wrap">
                <table className="table">
                  <caption>{SIDE_LABEL[side]} elements</caption>
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
                    {def[side].elements.length === 0 && (
                      <tr>
                        <td colSpan={5} className="muted">
                          Nothing on this side yet.
                        </td>
                      </tr>
                    )}
                    {def[side].elements.map((e, i) => (
                      <tr
                        key={`${side}-${i}`}
                        data-selected={selected?.side === side && selected.index === i ? 'true' : undefined}
                      >
                        <th scope="row">
                          {e.name} <span className="muted small">{e.kind}</span>
                          <div className="nowrap">
                            <button
                              type="button"
                              className="btn btn-small"
                              aria-label={`${editable ? 'Edit' : 'Show'} ${side} element ${e.name}`}
                              onClick={() => setSelected({ side, index: i })}
                            >
                              {editable ? 'Edit' : 'Show'}
                            </button>{' '}
                            {editable && (
                              <button
                                type="button"
                                className="btn btn-small btn-danger"
                                aria-label={`Remove ${side} element ${e.name}`}
                                onClick={() => remove(side, i)}
                              >
                                Remove
                              </button>
                            )}
                          </div>
                        </th>
                        {BOX.map((k) => (
                          <td key={k}>
                            <input
                              type="number"
                              step="0.5"
                              className="input-narrow"
                              aria-label={`${side} ${e.name} ${k} (mm)`}
                              disabled={!editable}
                              value={e[k]}
                              onChange={(ev) => setBox(side, i, k, Number(ev.target.value))}
                            />
                          </td>
                        ))}
                      </tr>
                    ))}
                  </tbody>
                </table>
              </div>
            </div>
          ))}
        </div>
        <div>
          <h3>Preview</h3>
          {can('user.read') && <PreviewPerson person={person} onChange={setPerson} />}
          <PdfPreview
            load={() =>
              api.layouts.previewDraft({
                definition: draft as Layout['definition'],
                ...(person ? { userId: person.id } : {}),
              })
            }
            deps={[draftKey, person?.id]}
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
          {selected && chosen && (
            <fieldset className="layout-editor__element" aria-label="Selected element" disabled={!editable}>
              <legend>
                {SIDE_LABEL[selected.side]} element “{chosen.name}” ({chosen.kind})
              </legend>
              <ElementFields
                key={`${selected.side}-${selected.index}`}
                element={chosen}
                properties={known}
                onChange={(e) => setElement(selected.side, selected.index, e)}
              />
              <div className="layout-editor__row">
                <span className="muted small">
                  Drawn in table order: a later element covers an earlier one.
                </span>
                <button
                  type="button"
                  className="btn btn-small"
                  disabled={selected.index === 0}
                  onClick={() => move(selected.side, selected.index, -1)}
                >
                  Draw earlier
                </button>
                <button
                  type="button"
                  className="btn btn-small"
                  disabled={selected.index === def[selected.side].elements.length - 1}
                  onClick={() => move(selected.side, selected.index, 1)}
                >
                  Draw later
                </button>
              </div>
            </fieldset>
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
