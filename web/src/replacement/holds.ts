// Why a person's devices and certificates are on hold, read once per device from
// GET /api/devices/{id}/holds: the replacement requests that name a device (as the original or as
// its replacement), a device suspension, and each credential's causes. The User page shows these
// next to the states, and decides from them which actions a device offers (Terminate for a
// temporary replacement, Replace… over a temporary request).
import { api } from '../api';
import { useLoad } from '../hooks';
import type { Device, DeviceHolds, RequestState } from '../types';

export type HoldsByDevice = Map<string, DeviceHolds>;
type HeldRequest = DeviceHolds['requests'][number];
type CredentialHold = DeviceHolds['credentials'][number]['holds'][number];

const OPEN: readonly RequestState[] = ['submitted', 'approved', 'bound'];
export const isOpen = (state: RequestState) => OPEN.includes(state);

/** Devices that never held credentials have nothing to explain. */
const EXPLAINED = new Set<Device['state']>(['active', 'pending', 'suspended', 'invalid', 'issuing', 'bound']);

/** The holds of every device of the list that can have any, keyed by device id. */
export function useDeviceHolds(devices: Device[] | undefined, refresh: unknown) {
  const ids = (devices ?? []).filter((d) => EXPLAINED.has(d.state)).map((d) => d.id);
  return useLoad(async (): Promise<HoldsByDevice> => {
    const all = await Promise.all(ids.map((id) => api.devices.holds(id)));
    return new Map(all.map((h) => [h.deviceId, h]));
  }, [ids.join(','), refresh]);
}

/** The open request that replaces this device, if any. */
export function openReplacementOf(h: DeviceHolds | undefined): HeldRequest | undefined {
  return h?.requests.find((r) => r.role === 'original' && isOpen(r.state));
}

/** The open temporary (forgotten) request this device is the temporary replacement of, if any. */
export function temporaryRequestOf(h: DeviceHolds | undefined): HeldRequest | undefined {
  return h?.requests.find((r) => r.role === 'replacement' && r.reason === 'forgotten' && isOpen(r.state));
}

/**
 * The open request a pending device was printed for and held back at the print step (its
 * activation completes the request, docs/printing.md), if any.
 */
export function heldBackForRequest(h: DeviceHolds | undefined): HeldRequest | undefined {
  return h?.state === 'pending'
    ? h.requests.find((r) => r.role === 'replacement' && isOpen(r.state))
    : undefined;
}

/** Each credential's recorded causes, across the devices (a shared credential has one entry). */
export function holdsByCredential(all: HoldsByDevice | undefined): Map<string, CredentialHold[]> {
  const out = new Map<string, CredentialHold[]>();
  for (const h of all?.values() ?? [])
    for (const c of h.credentials) if (c.holds.length) out.set(c.id, c.holds);
  return out;
}
