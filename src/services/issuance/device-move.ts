// Every device state change of issuance goes through the device state machine (domain/device.ts):
// an illegal move is refused with the machine's typed error, before anything is written.
import { deviceTransition, type DeviceAction, type DeviceState } from '../../domain/device.js';
import { must } from '../../domain/errors.js';
import type { Queryable } from '../../store/db.js';
import { updateDevice, type Device, type DevicePatch } from '../../store/devices-repo.js';

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
