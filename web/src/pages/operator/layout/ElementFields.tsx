// The fields of the element selected in the layout editor, by kind: what a text or barcode prints
// (fixed, a person's field or property, the card's serial or dates), its font, size and colour, a
// barcode's symbology, an image's picture (a logo, uploaded here and carried in the layout). Names
// of properties are typed freely (with the known ones suggested): a name nobody has is then refused
// by the checks, naming the element, rather than silently impossible to express.
import { useId, useState, type ChangeEvent } from 'react';
import {
  BARCODE_SYMBOLOGIES,
  CARD_FIELDS,
  DATE_FORMATS,
  LAYOUT_FONTS,
  PERSON_FIELDS,
  type LayoutElement,
  type ValueSource,
} from '../../../types';

const MAX_IMAGE_BYTES = 512 * 1024;

const SOURCE_LABEL = {
  fixed: 'Fixed text',
  person: 'Person field',
  property: 'Person property',
  card: 'Card',
};
const SYMBOLOGY_LABEL = { code128: 'Code 128', qr: 'QR', pdf417: 'PDF417' };
const CARD_FIELD_LABEL = { serial: 'Serial', expiry: 'Expiry date', issued: 'Issue date', issuer: 'Issuer' };

function ValueFields({
  value,
  onChange,
  properties,
}: {
  value: ValueSource;
  onChange: (v: ValueSource) => void;
  properties: readonly string[];
}) {
  const id = useId();
  const switchTo = (from: ValueSource['from']): ValueSource => {
    switch (from) {
      case 'fixed':
        return { from, text: value.from === 'fixed' ? value.text : 'Text' };
      case 'person':
        return { from, field: 'displayName' };
      case 'property':
        return { from, name: properties[0] ?? 'employeeId' };
      case 'card':
        return { from, field: 'serial' };
    }
  };
  return (
    <>
      <div className="field">
        <label htmlFor={`${id}-from`}>Value from</label>
        <select
          id={`${id}-from`}
          value={value.from}
          onChange={(e) => onChange(switchTo(e.target.value as ValueSource['from']))}
        >
          {(Object.keys(SOURCE_LABEL) as ValueSource['from'][]).map((k) => (
            <option key={k} value={k}>
              {SOURCE_LABEL[k]}
            </option>
          ))}
        </select>
      </div>
      {value.from === 'fixed' && (
        <div className="field">
          <label htmlFor={`${id}-text`}>Fixed text</label>
          <input
            id={`${id}-text`}
            maxLength={200}
            value={value.text}
            onChange={(e) => onChange({ from: 'fixed', text: e.target.value })}
          />
        </div>
      )}
      {value.from === 'person' && (
        <div className="field">
          <label htmlFor={`${id}-field`}>Person field</label>
          <select
            id={`${id}-field`}
            value={value.field}
            onChange={(e) =>
              onChange({ from: 'person', field: e.target.value as (typeof PERSON_FIELDS)[number] })
            }
          >
            {PERSON_FIELDS.map((f) => (
              <option key={f} value={f}>
                {f}
              </option>
            ))}
          </select>
        </div>
      )}
      {value.from === 'property' && (
        <div className="field">
          <label htmlFor={`${id}-prop`}>Property name</label>
          <input
            id={`${id}-prop`}
            list={`${id}-props`}
            maxLength={64}
            value={value.name}
            onChange={(e) => onChange({ from: 'property', name: e.target.value })}
          />
          <datalist id={`${id}-props`}>
            {properties.map((p) => (
              <option key={p} value={p} />
            ))}
          </datalist>
        </div>
      )}
      {value.from === 'card' && (
        <>
          <div className="field">
            <label htmlFor={`${id}-card`}>Card field</label>
            <select
              id={`${id}-card`}
              value={value.field}
              onChange={(e) => {
                const field = e.target.value as (typeof CARD_FIELDS)[number];
                onChange(
                  field === 'expiry' || field === 'issued'
                    ? { from: 'card', field, dateFormat: value.dateFormat ?? 'YYYYMMMDD' }
                    : { from: 'card', field },
                );
              }}
            >
              {CARD_FIELDS.map((f) => (
                <option key={f} value={f}>
                  {CARD_FIELD_LABEL[f]}
                </option>
              ))}
            </select>
          </div>
          {(value.field === 'expiry' || value.field === 'issued') && (
            <div className="field">
              <label htmlFor={`${id}-date`}>Date format</label>
              <select
                id={`${id}-date`}
                value={value.dateFormat ?? 'YYYYMMMDD'}
                onChange={(e) =>
                  onChange({ ...value, dateFormat: e.target.value as (typeof DATE_FORMATS)[number] })
                }
              >
                {DATE_FORMATS.map((f) => (
                  <option key={f} value={f}>
                    {f}
                  </option>
                ))}
              </select>
            </div>
          )}
        </>
      )}
    </>
  );
}

function ColorField({
  value,
  onChange,
  label,
}: {
  value: string;
  onChange: (c: string) => void;
  label: string;
}) {
  const id = useId();
  return (
    <div className="field">
      <label htmlFor={id}>{label}</label>
      <input id={id} type="color" value={value.toLowerCase()} onChange={(e) => onChange(e.target.value)} />
    </div>
  );
}

type RectElement = Extract<LayoutElement, { kind: 'rect' }>;

/**
 * A rectangle whose colour follows one of the person's properties (FIPS 201's affiliation band,
 * 15F): the property, and a colour per value; a value not listed takes the default colour. Rows are
 * kept here while typed, so a half-typed value that equals another does not swallow it.
 */
function ColorByFields({
  element: e,
  properties,
  onChange,
}: {
  element: RectElement;
  properties: readonly string[];
  onChange: (e: LayoutElement) => void;
}) {
  const id = useId();
  const [rows, setRows] = useState<[string, string][]>(Object.entries(e.colorBy?.colors ?? {}));
  const plain = (): RectElement => ({
    kind: 'rect',
    name: e.name,
    x: e.x,
    y: e.y,
    width: e.width,
    height: e.height,
    color: e.color,
  });
  const emit = (property: string, next: [string, string][]) => {
    setRows(next);
    const colors: Record<string, string> = {};
    for (const [k, c] of next) if (k.trim()) colors[k.trim()] = c;
    onChange({ ...plain(), colorBy: { property, colors } });
  };
  const property = e.colorBy?.property ?? '';
  return (
    <>
      <div className="check">
        <input
          id={`${id}-by`}
          type="checkbox"
          checked={!!e.colorBy}
          onChange={(ev) =>
            ev.target.checked ? emit(properties[0] ?? 'affiliation', rows) : onChange(plain())
          }
        />
        <label htmlFor={`${id}-by`}>Colour follows a property of the person</label>
      </div>
      {e.colorBy && (
        <fieldset className="layout-editor__plain">
          <div className="field">
            <label htmlFor={`${id}-prop`}>Property name</label>
            <input
              id={`${id}-prop`}
              list={`${id}-props`}
              maxLength={64}
              value={property}
              onChange={(ev) => emit(ev.target.value, rows)}
            />
            <datalist id={`${id}-props`}>
              {properties.map((p) => (
                <option key={p} value={p} />
              ))}
            </datalist>
          </div>
          {rows.map(([k, c], i) => (
            <div className="layout-editor__row" key={i}>
              <div className="field">
                <label htmlFor={`${id}-k${i}`}>When it is</label>
                <input
                  id={`${id}-k${i}`}
                  maxLength={100}
                  value={k}
                  onChange={(ev) =>
                    emit(
                      property,
                      rows.map((r, n) => (n === i ? [ev.target.value, r[1]] : r)),
                    )
                  }
                />
              </div>
              <div className="field">
                <label htmlFor={`${id}-c${i}`}>Colour for “{k}”</label>
                <input
                  id={`${id}-c${i}`}
                  type="color"
                  value={c.toLowerCase()}
                  onChange={(ev) =>
                    emit(
                      property,
                      rows.map((r, n) => (n === i ? [r[0], ev.target.value] : r)),
                    )
                  }
                />
              </div>
              <button
                type="button"
                className="btn btn-small"
                aria-label={`Remove the colour for “${k}”`}
                onClick={() =>
                  emit(
                    property,
                    rows.filter((_, n) => n !== i),
                  )
                }
              >
                Remove
              </button>
            </div>
          ))}
          <button
            type="button"
            className="btn btn-small"
            disabled={rows.length >= 20}
            onClick={() => emit(property, [...rows, [`Value ${rows.length + 1}`, '#FFFFFF']])}
          >
            Add a value and its colour
          </button>
        </fieldset>
      )}
    </>
  );
}

/** base64 of an image file, after the checks the server makes again (JPEG or PNG by its header, size). */
async function imageData(file: File): Promise<string> {
  if (file.size > MAX_IMAGE_BYTES)
    throw new Error(`The image is ${Math.ceil(file.size / 1024)} KiB: at most 512 KiB, please`);
  const bytes = new Uint8Array(await file.arrayBuffer());
  const jpeg = bytes[0] === 0xff && bytes[1] === 0xd8;
  const png = bytes[0] === 0x89 && bytes[1] === 0x50 && bytes[2] === 0x4e && bytes[3] === 0x47;
  if (!jpeg && !png) throw new Error('The image must be a JPEG or PNG file');
  let text = '';
  for (let i = 0; i < bytes.length; i += 0x8000)
    text += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(text);
}

export function ElementFields({
  element: e,
  onChange,
  properties,
}: {
  element: LayoutElement;
  onChange: (e: LayoutElement) => void;
  properties: readonly string[];
}) {
  const id = useId();
  const [imageError, setImageError] = useState('');
  const onImage = async (ev: ChangeEvent<HTMLInputElement>) => {
    const file = ev.target.files?.[0];
    ev.target.value = '';
    if (!file || e.kind !== 'image') return;
    try {
      onChange({ ...e, data: await imageData(file) });
      setImageError('');
    } catch (err) {
      setImageError((err as Error).message);
    }
  };
  return (
    <>
      <div className="field">
        <label htmlFor={`${id}-name`}>Element name</label>
        <input
          id={`${id}-name`}
          maxLength={64}
          value={e.name}
          onChange={(ev) => onChange({ ...e, name: ev.target.value })}
        />
      </div>
      {(e.kind === 'text' || e.kind === 'barcode') && (
        <ValueFields
          value={e.value}
          properties={properties}
          onChange={(value) => onChange({ ...e, value })}
        />
      )}
      {e.kind === 'text' && (
        <>
          <div className="field">
            <label htmlFor={`${id}-font`}>Font</label>
            <select
              id={`${id}-font`}
              value={e.font}
              onChange={(ev) => onChange({ ...e, font: ev.target.value as (typeof LAYOUT_FONTS)[number] })}
            >
              {LAYOUT_FONTS.map((f) => (
                <option key={f} value={f}>
                  {f}
                </option>
              ))}
            </select>
          </div>
          <div className="field">
            <label htmlFor={`${id}-size`}>Font size (pt)</label>
            <input
              id={`${id}-size`}
              type="number"
              min={3}
              max={72}
              step={0.5}
              className="input-narrow"
              value={e.size}
              onChange={(ev) => onChange({ ...e, size: Number(ev.target.value) })}
            />
          </div>
          <div className="field">
            <label htmlFor={`${id}-align`}>Alignment</label>
            <select
              id={`${id}-align`}
              value={e.align}
              onChange={(ev) => onChange({ ...e, align: ev.target.value as typeof e.align })}
            >
              <option value="left">Left</option>
              <option value="center">Centre</option>
              <option value="right">Right</option>
            </select>
          </div>
          <div className="check">
            <input
              id={`${id}-upper`}
              type="checkbox"
              checked={e.uppercase}
              onChange={(ev) => onChange({ ...e, uppercase: ev.target.checked })}
            />
            <label htmlFor={`${id}-upper`}>In capitals</label>
          </div>
          <ColorField label="Text colour" value={e.color} onChange={(color) => onChange({ ...e, color })} />
        </>
      )}
      {e.kind === 'barcode' && (
        <>
          <div className="field">
            <label htmlFor={`${id}-sym`}>Symbology</label>
            <select
              id={`${id}-sym`}
              value={e.symbology}
              onChange={(ev) =>
                onChange({ ...e, symbology: ev.target.value as (typeof BARCODE_SYMBOLOGIES)[number] })
              }
            >
              {BARCODE_SYMBOLOGIES.map((s) => (
                <option key={s} value={s}>
                  {SYMBOLOGY_LABEL[s]}
                </option>
              ))}
            </select>
          </div>
          <ColorField label="Bar colour" value={e.color} onChange={(color) => onChange({ ...e, color })} />
        </>
      )}
      {e.kind === 'rect' && (
        <>
          <ColorField
            label={e.colorBy ? 'Default colour' : 'Fill colour'}
            value={e.color}
            onChange={(color) => onChange({ ...e, color })}
          />
          <ColorByFields element={e} properties={properties} onChange={onChange} />
        </>
      )}
      {e.kind === 'image' && (
        <div className="field">
          <label htmlFor={`${id}-file`}>Image file (JPEG or PNG, at most 512 KiB)</label>
          <input
            id={`${id}-file`}
            type="file"
            accept="image/jpeg,image/png"
            onChange={(ev) => void onImage(ev)}
          />
          <p className="muted small">{e.data ? 'An image is chosen.' : 'No image chosen yet.'}</p>
          {imageError && (
            <p className="field-error" role="alert">
              {imageError}
            </p>
          )}
        </div>
      )}
      {e.kind === 'photo' && (
        <p className="muted small">
          The person’s photo, fitted and centred in the box (an empty frame if they have none).
        </p>
      )}
    </>
  );
}
