// The policy's name, default card layout, description and the device types it applies to.
import { useSection } from '../../../components/section';
import { deviceTypeLabel } from '../../../format';
import { DEVICE_TYPES } from '../../../types';
import type { GeneralPart } from './policy-draft';

export function GeneralSection({
  value,
  onChange,
}: {
  value: GeneralPart;
  onChange: (v: GeneralPart) => void;
}) {
  const { id, set } = useSection(value, onChange);
  const heading = id('general');
  return (
    <section className="card" aria-labelledby={heading}>
      <h2 id={heading}>General</h2>
      <div className="form-grid">
        <div className="field">
          <label htmlFor="pol-name">Name</label>
          <input id="pol-name" value={value.name} onChange={(e) => set('name', e.target.value)} />
        </div>
        <div className="field">
          <label htmlFor="pol-layout">Default card layout (optional)</label>
          <input
            id="pol-layout"
            value={value.defaultLayout ?? ''}
            onChange={(e) => set('defaultLayout', e.target.value)}
          />
        </div>
      </div>
      <div className="field">
        <label htmlFor="pol-description">Description</label>
        <textarea
          id="pol-description"
          rows={2}
          value={value.description}
          onChange={(e) => set('description', e.target.value)}
        />
      </div>
      <fieldset className="checks checks--inline">
        <legend>Device types</legend>
        {DEVICE_TYPES.map((t) => (
          <div className="check" key={t}>
            <input
              type="checkbox"
              id={`pol-type-${t}`}
              checked={value.deviceTypes.includes(t)}
              onChange={(e) =>
                set(
                  'deviceTypes',
                  e.target.checked ? [...value.deviceTypes, t] : value.deviceTypes.filter((x) => x !== t),
                )
              }
            />
            <label htmlFor={`pol-type-${t}`}>{deviceTypeLabel(t)}</label>
          </div>
        ))}
      </fieldset>
    </section>
  );
}
