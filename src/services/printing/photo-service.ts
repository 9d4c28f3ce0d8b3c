// People's photos (printed by layouts with a photo element): uploaded on the User page or synced
// from the directory's jpegPhoto. Checked (JPEG or PNG, size-limited) before they are kept, and kept
// once per distinct picture.
import { createHash } from 'node:crypto';
import { NotFoundError } from '../../domain/errors.js';
import { checkPhoto, type PhotoInfo } from '../../domain/photo.js';
import { appendAudit } from '../../store/audit-repo.js';
import type { Queryable } from '../../store/db.js';
import {
  deletePhotoIfUnused,
  getUserPhoto,
  getUserPhotoHash,
  putPhoto,
  setUserPhoto,
  type Photo,
} from '../../store/layouts-repo.js';
import { getUser } from '../../store/users-repo.js';
import { auditActor, type Actor, type ServiceContext } from '../context.js';

export type { Photo } from '../../store/layouts-repo.js';

export class PhotoService {
  constructor(private readonly ctx: ServiceContext) {}

  async get(userId: string): Promise<Photo> {
    const p = await getUserPhoto(this.ctx.db, userId);
    if (!p) throw new NotFoundError('photo of user', userId);
    return p;
  }

  /** Sets a person's photo; the audit names its hash and size, never its bytes. */
  async put(
    actor: Actor,
    userId: string,
    bytes: Uint8Array,
    tx?: Queryable,
  ): Promise<PhotoInfo & { sha256: string }> {
    const info = checkPhoto(bytes);
    const sha256 = createHash('sha256').update(bytes).digest('hex');
    const run = async (t: Queryable) => {
      if (!(await getUser(t, userId, true))) throw new NotFoundError('user', userId);
      const before = await getUserPhotoHash(t, userId);
      if (before === sha256) return;
      const at = this.ctx.clock.now();
      await putPhoto(t, { sha256, ...info, data: Buffer.from(bytes) }, at);
      await setUserPhoto(t, userId, sha256, at);
      if (before) await deletePhotoIfUnused(t, before);
      await appendAudit(t, {
        actor: auditActor(actor),
        action: 'user.photo_set',
        targetType: 'user',
        targetId: userId,
        details: {
          sha256,
          contentType: info.contentType,
          width: info.width,
          height: info.height,
          bytes: bytes.length,
        },
        correlationId: actor.correlationId ?? null,
        at,
      });
    };
    await (tx ? run(tx) : this.ctx.db.transaction(run));
    return { ...info, sha256 };
  }

  async remove(actor: Actor, userId: string): Promise<void> {
    await this.ctx.db.transaction(async (t) => {
      if (!(await getUser(t, userId, true))) throw new NotFoundError('user', userId);
      const before = await getUserPhotoHash(t, userId);
      if (!before) return;
      const at = this.ctx.clock.now();
      await setUserPhoto(t, userId, null, at);
      await deletePhotoIfUnused(t, before);
      await appendAudit(t, {
        actor: auditActor(actor),
        action: 'user.photo_removed',
        targetType: 'user',
        targetId: userId,
        details: { sha256: before },
        correlationId: actor.correlationId ?? null,
        at,
      });
    });
  }
}
