// The person's photo on the User page (reference 002: printed on their card): shown when there is
// one, uploaded here as a JPEG or PNG (the server checks the image itself and its size) or synced
// from the directory. The picture goes as base64 in JSON, like every other call.
import { useId, useState, type ChangeEvent } from 'react';
import { api } from '../../api';
import { ErrorPanel } from '../../components/ErrorPanel';
import { useAction } from '../../hooks';
import { useSession } from '../../session';

const MAX_BYTES = 512 * 1024;

function base64Of(file: File): Promise<string> {
  return new Promise((resolve, reject) => {
    const reader = new FileReader();
    reader.onload = () => resolve(String(reader.result).replace(/^data:[^,]*,/, ''));
    reader.onerror = () => reject(reader.error ?? new Error('The file could not be read'));
    reader.readAsDataURL(file);
  });
}

export function UserPhoto({ userId, name }: { userId: string; name: string }) {
  const { can } = useSession();
  const id = useId();
  const [version, setVersion] = useState(0);
  const [shown, setShown] = useState(true);
  const upload = useAction();

  const onFile = async (e: ChangeEvent<HTMLInputElement>) => {
    const file = e.target.files?.[0];
    e.target.value = '';
    if (!file) return;
    const out = await upload.run(async () => {
      if (file.size > MAX_BYTES)
        throw new Error(`The photo is ${Math.ceil(file.size / 1024)} KiB: at most 512 KiB, please`);
      return api.photos.put(userId, await base64Of(file));
    });
    if (out) {
      setShown(true);
      setVersion((v) => v + 1);
    }
  };

  return (
    <section className="card" aria-labelledby={`${id}-h`}>
      <div className="card__head">
        <h2 id={`${id}-h`}>Photo</h2>
      </div>
      {shown ? (
        <img
          key={version}
          className="user-photo"
          src={`${api.photos.url(userId)}?v=${version}`}
          alt={`Photo of ${name}`}
          onError={() => setShown(false)}
        />
      ) : (
        <p className="muted">No photo yet: a card printed with a photo shows an empty frame.</p>
      )}
      {can('user.update') && (
        <div className="field">
          <label htmlFor={`${id}-file`}>Upload a photo (JPEG or PNG, at most 512 KiB)</label>
          <input
            id={`${id}-file`}
            type="file"
            accept="image/jpeg,image/png"
            disabled={upload.busy}
            onChange={(e) => void onFile(e)}
          />
        </div>
      )}
      <ErrorPanel error={upload.error} title="The photo was not saved" />
    </section>
  );
}
