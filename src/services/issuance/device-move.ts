// Every device state change of issuance goes through the device state machine (domain/device.ts):
// an illegal move is refused with the machine's typed error, before anything is written.
import { deviceMachine, deviceTransition, type DeviceAction, type DeviceState } from '../../domain/device.js';
import { must, NotFoundError } from '../../domain/errors.js';
import type { Queryable } from '../../store/db.js';
import {
  getDevice,
  updateDevice,
  updateDeviceIf,
  type Device,
  type DevicePatch,
} from '../../store/devices-repo.js';

export async function moveDevice(
  tx: Queryable,
  d: Device,
  action: DeviceAction,
  patch: DevicePatch,
  at: Date,
): Promise<Device> {
  const state: DeviceState = must(deviceTransition(d.state, action));
  return updateDevice(tx, d.id, { ...patch, state }, at);
}

/**
 * The same move for a device known by id, not yet read in this transaction: one UPDATE that takes
 * the row's lock only from the states the machine allows the action from (instead of a locked read
 * and an UPDATE). A device in another state is read, locked, and refused with the machine's error.
 */
export async function moveDeviceById(
  tx: Queryable,
  id: string,
  action: DeviceAction,
  patch: DevicePatch,
  at: Date,
): Promise<Device> {
  const rule = deviceMachine.table[action];
  const moved = await updateDeviceIf(tx, id, rule.from, { ...patch, state: rule.to }, at);
  if (moved) return moved;
  const d = await getDevice(tx, id, true);
  if (!d) throw new NotFoundError('device', id);
  return moveDevice(tx, d, action, patch, at);
}
