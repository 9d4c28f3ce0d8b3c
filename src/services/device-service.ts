import { parse } from 'csv-parse/sync';
import { DEVICE_TYPES, type DeviceType } from '../domain/device.js';
import { ConflictError, NotFoundError, ValidationError } from '../domain/errors.js';
import { appendAudit } from '../store/audit-repo.js';
import type { Queryable } from '../store/db.js';
import {
  getDevice,
  getDeviceBySerial,
  insertDevice,
  searchDevices,
  type Device,
} from '../store/devices-repo.js';
import { isUniqueViolation } from '../store/sql.js';
import { auditActor, type Actor, type ServiceContext } from './context.js';

export const SERIAL_PATTERN = /^[A-Za-z0-9][A-Za-z0-9:._-]{0,63}$/;
export const MAX_IMPORT_ROWS = 10_000;

export interface RegisterDeviceInput {
  serial: string;
  type: DeviceType;
  model?: string;
  notes?: string;
  demo?: boolean;
}

export interface ImportRow {
  line: number;
  serial: string | null;
  status: 'created' | 'refused';
  error?: string;
}

export interface ImportReport {
  created: number;
  refused: number;
  rows: ImportRow[];
}

function checkDevice(d: { serial: string; type: string; model?: string; notes?: string }): string | null {
  if (!SERIAL_PATTERN.test(d.serial))
    return 'The serial must be 1-64 letters or digits (and : . _ - after the first character)';
  if (!(DEVICE_TYPES as readonly string[]).includes(d.type))
    return `Unknown device type "${d.type}": use one of ${DEVICE_TYPES.join(', ')}`;
  if ((d.model ?? '').length > 128) return 'The model is longer than 128 characters';
  if ((d.notes ?? '').length > 1000) return 'The notes are longer than 1000 characters';
  return null;
}

export class DeviceService {
  constructor(private readonly ctx: ServiceContext) {}

  async register(actor: Actor, input: RegisterDeviceInput, tx?: Queryable): Promise<Device> {
    const problem = checkDevice(input);
    if (problem) throw new ValidationError(problem);
    const run = async (t: Queryable) => {
      if (await getDeviceBySerial(t, input.serial))
        throw new ConflictError(`A device with serial "${input.serial}" is already registered`, {
          field: 'serial',
        });
      const at = this.ctx.clock.now();
      let device: Device;
      try {
        device = await insertDevice(t, { ...input, at });
      } catch (e) {
        if (isUniqueViolation(e))
          throw new ConflictError(`A device with serial "${input.serial}" is already registered`, {
            field: 'serial',
          });
        throw e;
      }
      await appendAudit(t, {
        actor: auditActor(actor),
        action: 'device.registered',
        targetType: 'device',
        targetId: device.id,
        details: { serial: device.serial, type: device.type, model: device.model },
        correlationId: actor.correlationId ?? null,
        at,
      });
      return device;
    };
    return tx ? run(tx) : this.ctx.db.transaction(run);
  }

  /**
   * Bulk registration from CSV (header: serial,type[,model][,notes]). Every row is checked first;
   * the good ones are then registered together in one transaction, and the report says, row by
   * row, what was created and what was refused and why.
   */
  async importCsv(actor: Actor, csv: string): Promise<ImportReport> {
    let records: string[][];
    try {
      records = parse(csv, { skip_empty_lines: true, trim: true, relax_column_count: true }) as string[][];
    } catch (e) {
      throw new ValidationError(`The CSV cannot be read: ${(e as Error).message}`);
    }
    if (records.length === 0)
      throw new ValidationError('The CSV is empty: give a header row and one row per device');
    const header = records[0]!.map((h) => h.toLowerCase());
    const col = (name: string) => header.indexOf(name);
    if (col('serial') < 0 || col('type') < 0)
      throw new ValidationError(
        'The first row must be a header naming at least the columns serial and type',
        {
          header,
        },
      );
    const unknown = header.filter((h) => !['serial', 'type', 'model', 'notes'].includes(h));
    if (unknown.length) throw new ValidationError(`Unknown column(s) in the header: ${unknown.join(', ')}`);
    if (records.length - 1 > MAX_IMPORT_ROWS)
      throw new ValidationError(`At most ${MAX_IMPORT_ROWS} devices can be imported at once`);

    const rows: ImportRow[] = [];
    const good: { line: number; input: RegisterDeviceInput }[] = [];
    const seen = new Map<string, number>();
    records.slice(1).forEach((rec, i) => {
      const line = i + 2;
      const get = (name: string) => (col(name) >= 0 ? (rec[col(name)] ?? '') : '');
      const input = {
        serial: get('serial'),
        type: get('type').toLowerCase() as DeviceType,
        model: get('model'),
        notes: get('notes'),
      };
      if (rec.length > header.length) {
        rows.push({
          line,
          serial: input.serial || null,
          status: 'refused',
          error: `The row has ${rec.length} fields; the header has ${header.length}`,
        });
        return;
      }
      const problem = input.serial === '' ? 'The serial is empty' : checkDevice(input);
      if (problem) {
        rows.push({ line, serial: input.serial || null, status: 'refused', error: problem });
        return;
      }
      const key = input.serial.toUpperCase();
      if (seen.has(key)) {
        rows.push({
          line,
          serial: input.serial,
          status: 'refused',
          error: `Serial repeated from line ${seen.get(key)}`,
        });
        return;
      }
      seen.set(key, line);
      good.push({ line, input });
      rows.push({ line, serial: input.serial, status: 'created' });
    });

    await this.ctx.db.transaction(async (tx) => {
      for (const g of good) {
        const row = rows.find((r) => r.line === g.line)!;
        if (await getDeviceBySerial(tx, g.input.serial)) {
          row.status = 'refused';
          row.error = 'A device with this serial is already registered';
          continue;
        }
        await this.register(actor, g.input, tx);
      }
      const created = rows.filter((r) => r.status === 'created').length;
      await appendAudit(tx, {
        actor: auditActor(actor),
        action: 'device.imported',
        targetType: 'device',
        targetId: null,
        details: { created, refused: rows.length - created },
        correlationId: actor.correlationId ?? null,
        at: this.ctx.clock.now(),
      });
    });
    const created = rows.filter((r) => r.status === 'created').length;
    return { created, refused: rows.length - created, rows };
  }

  async get(id: string): Promise<Device> {
    const d = await getDevice(this.ctx.db, id);
    if (!d) throw new NotFoundError('device', id);
    return d;
  }

  search(s: Parameters<typeof searchDevices>[1]) {
    return searchDevices(this.ctx.db, s);
  }
}
