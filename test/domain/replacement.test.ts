import { describe, expect, it } from 'vitest';
import {
  DEVICE_STATES,
  isPermanent,
  planCancellation,
  planPermanentIssued,
  planPermanentOverTemporary,
  keyRecoveryFor,
  planSubmission,
  planTemporaryTermination,
  reasonsFor,
  replacementTypeFor,
  REPLACEMENT_REASONS,
  REPLACEMENT_RULES,
  REPLACEMENT_TYPES,
  revocationReasonFor,
  type DeviceState,
  type ReplacementPlan,
} from '../../src/domain/index.js';

const empty: ReplacementPlan = {
  invalidateDeviceIds: [],
  restoreDeviceIds: [],
  restoreSuspendedDeviceIds: [],
  unbindDeviceIds: [],
  cancelDeviceIds: [],
  terminateDeviceIds: [],
  suspendCredentialIds: [],
  joinHoldCredentialIds: [],
  reinstateCredentialIds: [],
  revokeCredentials: [],
  uninstallCredentials: [],
  affectedDeviceIds: [],
};

describe('replacement rules (reference 003 table)', () => {
  it('maps each reason to its type', () => {
    expect(REPLACEMENT_RULES).toEqual({
      damaged: 'permanent_eol',
      expired: 'permanent_eol',
      lost: 'permanent',
      stolen: 'permanent',
      forgotten: 'temporary',
    });
    for (const r of REPLACEMENT_REASONS) expect(replacementTypeFor(r)).toBe(REPLACEMENT_RULES[r]);
  });

  it('lists the reasons of each type', () => {
    expect(reasonsFor('permanent_eol')).toEqual(['damaged', 'expired']);
    expect(reasonsFor('permanent')).toEqual(['lost', 'stolen']);
    expect(reasonsFor('temporary')).toEqual(['forgotten']);
    expect(REPLACEMENT_TYPES.flatMap(reasonsFor).sort()).toEqual([...REPLACEMENT_REASONS].sort());
  });

  it('only a temporary replacement is not permanent', () => {
    expect(REPLACEMENT_TYPES.filter(isPermanent)).toEqual(['permanent_eol', 'permanent']);
  });

  it('revokes lost and stolen keys as compromised, others as superseded', () => {
    expect(revocationReasonFor('lost')).toBe('keyCompromise');
    expect(revocationReasonFor('stolen')).toBe('keyCompromise');
    expect(revocationReasonFor('damaged')).toBe('superseded');
    expect(revocationReasonFor('expired')).toBe('superseded');
  });
});

describe('planSubmission', () => {
  it('invalidates the target and suspends all its credentials, shared ones included', () => {
    const r = planSubmission({
      targetDevice: { id: 'card', state: 'active' },
      credentialIdsOnTarget: ['auth', 'sign', 'km', 'km'],
      sharedDeviceIdsByCredential: { km: ['card', 'phone'], auth: ['card'] },
    });
    expect(r).toEqual({
      ok: true,
      value: {
        ...empty,
        invalidateDeviceIds: ['card'],
        suspendCredentialIds: ['auth', 'sign', 'km'],
        affectedDeviceIds: ['phone'],
      },
    });
  });

  it('suspends only valid credentials, so cancelling will not lift another hold', () => {
    const r = planSubmission({
      targetDevice: { id: 'card', state: 'active' },
      credentialIdsOnTarget: ['a', 'b', 'c'],
      credentialStatusById: { a: 'valid', b: 'suspended', c: 'revoked' },
    });
    expect(r.ok && r.value.suspendCredentialIds).toEqual(['a']);
  });

  it.each(DEVICE_STATES.filter((s) => s !== 'active' && s !== 'suspended'))(
    'refuses a target that is %s',
    (state) => {
      const r = planSubmission({ targetDevice: { id: 'card', state }, credentialIdsOnTarget: ['a'] });
      expect(r.ok).toBe(false);
      if (!r.ok)
        expect(r.error).toMatchObject({ code: 'illegal_transition', from: state, action: 'invalidate' });
    },
  );
});

describe('planCancellation', () => {
  const base = {
    originalDevice: { id: 'card', state: 'invalid' as const },
    suspendedCredentialIds: ['auth', 'km'],
    sharedDeviceIdsByCredential: { km: ['card', 'phone'] },
  };

  it('restores the original and reinstates what the submission suspended', () => {
    expect(planCancellation(base)).toEqual({
      ok: true,
      value: {
        ...empty,
        restoreDeviceIds: ['card'],
        reinstateCredentialIds: ['auth', 'km'],
        affectedDeviceIds: ['phone'],
      },
    });
  });

  it('does not reinstate a credential revoked meanwhile', () => {
    const r = planCancellation({ ...base, credentialStatusById: { auth: 'revoked', km: 'suspended' } });
    expect(r.ok && r.value.reinstateCredentialIds).toEqual(['km']);
  });

  const byReplacementState: Record<DeviceState, 'unbind' | 'cancel' | 'none' | 'conflict'> = {
    inventory: 'none',
    bound: 'unbind',
    issuing: 'conflict',
    pending: 'conflict',
    active: 'conflict',
    suspended: 'conflict',
    failed: 'cancel',
    awaiting_recycle: 'none',
    invalid: 'conflict',
    terminated: 'conflict',
  };
  it.each(DEVICE_STATES)('with a replacement device that is %s', (state) => {
    const r = planCancellation({ ...base, replacementDevice: { id: 'new', state } });
    const want = byReplacementState[state];
    if (want === 'conflict') {
      expect(r.ok).toBe(false);
      if (!r.ok) expect(r.error).toMatchObject({ code: 'conflict', details: { deviceId: 'new', state } });
      return;
    }
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.value.unbindDeviceIds).toEqual(want === 'unbind' ? ['new'] : []);
    expect(r.value.cancelDeviceIds).toEqual(want === 'cancel' ? ['new'] : []);
    expect(r.value.restoreDeviceIds).toEqual(['card']);
  });

  it.each(DEVICE_STATES.filter((s) => s !== 'invalid'))('refuses when the original is %s', (state) => {
    const r = planCancellation({ ...base, originalDevice: { id: 'card', state } });
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.error).toMatchObject({ code: 'illegal_transition', action: 'restore' });
  });
});

describe('planTemporaryTermination', () => {
  const base = {
    originalDevice: { id: 'card', state: 'invalid' as const },
    temporaryDevice: { id: 'temp', state: 'active' as const },
    suspendedCredentialIds: ['auth'],
    temporaryCredentialIds: ['t-auth', 't-sign'],
  };

  it('restores the original, terminates the temporary device and revokes its certificates', () => {
    expect(planTemporaryTermination(base)).toEqual({
      ok: true,
      value: {
        ...empty,
        restoreDeviceIds: ['card'],
        terminateDeviceIds: ['temp'],
        reinstateCredentialIds: ['auth'],
        revokeCredentials: [
          { credentialId: 't-auth', reason: 'cessationOfOperation' },
          { credentialId: 't-sign', reason: 'cessationOfOperation' },
        ],
      },
    });
  });

  it('does not revoke twice', () => {
    const r = planTemporaryTermination({ ...base, credentialStatusById: { 't-sign': 'revoked' } });
    expect(r.ok && r.value.revokeCredentials.map((c) => c.credentialId)).toEqual(['t-auth']);
  });

  it.each(DEVICE_STATES)('temporary device %s', (state) => {
    const r = planTemporaryTermination({ ...base, temporaryDevice: { id: 'temp', state } });
    expect(r.ok).toBe(['active', 'suspended', 'invalid', 'pending'].includes(state));
  });

  it('refuses when the original is not invalid', () => {
    const r = planTemporaryTermination({ ...base, originalDevice: { id: 'card', state: 'terminated' } });
    expect(r.ok).toBe(false);
    if (!r.ok)
      expect(r.error).toMatchObject({ code: 'illegal_transition', from: 'terminated', action: 'restore' });
  });
});

describe('planPermanentIssued', () => {
  // Ref. 003 "permanent replacement over temporary replacement": the original was invalidated by a
  // temporary replacement, then the temporary device by the permanent request.
  const base = {
    invalidDevices: [
      { id: 'card', state: 'invalid' as const },
      { id: 'temp', state: 'invalid' as const },
    ],
    credentialIdsByDevice: { card: ['auth', 'km'], temp: ['t-auth', 'km'] },
    sharedDeviceIdsByCredential: { km: ['card', 'temp', 'phone'] },
  };

  it.each(['lost', 'stolen'] as const)(
    'terminates every invalid device and revokes its credentials as compromised, shared ones too (%s)',
    (reason) => {
      expect(planPermanentIssued({ ...base, reason })).toEqual({
        ok: true,
        value: {
          ...empty,
          terminateDeviceIds: ['card', 'temp'],
          revokeCredentials: ['auth', 'km', 't-auth'].map((credentialId) => ({
            credentialId,
            reason: 'keyCompromise',
          })),
          affectedDeviceIds: ['phone'],
        },
      });
    },
  );

  it.each(['damaged', 'expired'] as const)(
    'terminates every invalid device; a credential that lives on on the phone is kept and leaves the ended devices (%s)',
    (reason) => {
      expect(planPermanentIssued({ ...base, reason })).toEqual({
        ok: true,
        value: {
          ...empty,
          terminateDeviceIds: ['card', 'temp'],
          revokeCredentials: ['auth', 't-auth'].map((credentialId) => ({
            credentialId,
            reason: 'superseded',
          })),
          reinstateCredentialIds: ['km'],
          uninstallCredentials: [
            { credentialId: 'km', deviceId: 'card' },
            { credentialId: 'km', deviceId: 'temp' },
          ],
          affectedDeviceIds: ['phone'],
        },
      });
    },
  );

  it('skips credentials already revoked', () => {
    const r = planPermanentIssued({ ...base, reason: 'lost', credentialStatusById: { km: 'revoked' } });
    expect(r.ok && r.value.revokeCredentials.map((c) => c.credentialId)).toEqual(['auth', 't-auth']);
    expect(r.ok && r.value.affectedDeviceIds).toEqual([]);
  });

  it('refuses a temporary reason', () => {
    const r = planPermanentIssued({ ...base, reason: 'forgotten' });
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.error.code).toBe('validation_failed');
  });

  it.each(DEVICE_STATES.filter((s) => s !== 'invalid'))('refuses a device that is %s', (state) => {
    const r = planPermanentIssued({
      ...base,
      reason: 'damaged',
      invalidDevices: [base.invalidDevices[0]!, { id: 'temp', state }],
    });
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.error).toMatchObject({ code: 'conflict', details: { deviceId: 'temp', state } });
  });
});

describe('a whole replacement, plan after plan', () => {
  it('submission then cancellation returns every credential to where it was', () => {
    const status: Record<string, 'valid' | 'suspended' | 'revoked'> = {
      a: 'valid',
      b: 'suspended',
      c: 'valid',
    };
    const sub = planSubmission({
      targetDevice: { id: 'card', state: 'active' },
      credentialIdsOnTarget: Object.keys(status),
      credentialStatusById: status,
    });
    if (!sub.ok) throw sub.error;
    const after = { ...status };
    for (const c of sub.value.suspendCredentialIds) after[c] = 'suspended';
    const cancel = planCancellation({
      originalDevice: { id: 'card', state: 'invalid' },
      suspendedCredentialIds: sub.value.suspendCredentialIds,
      credentialStatusById: after,
    });
    if (!cancel.ok) throw cancel.error;
    for (const c of cancel.value.reinstateCredentialIds) after[c] = 'valid';
    expect(after).toEqual(status);
  });
});

describe('holds of several causes', () => {
  it('a submission joins the hold of a device suspension, and its release leaves that hold', () => {
    const sub = planSubmission({
      targetDevice: { id: 'card', state: 'suspended' },
      credentialIdsOnTarget: ['auth', 'km', 'manual'],
      // auth and km: on hold for the device suspension; manual: suspended by hand at the CA.
      credentialStatusById: { auth: 'suspended', km: 'suspended', manual: 'suspended' },
      heldElsewhereCredentialIds: ['auth', 'km'],
    });
    expect(sub.ok && sub.value).toMatchObject({
      invalidateDeviceIds: ['card'],
      suspendCredentialIds: [],
      joinHoldCredentialIds: ['auth', 'km'],
    });
    const cancel = planCancellation({
      originalDevice: { id: 'card', state: 'invalid' },
      suspendedCredentialIds: ['auth', 'km'],
      heldElsewhereCredentialIds: ['auth', 'km'],
      deviceSuspended: true,
    });
    expect(cancel.ok && cancel.value).toMatchObject({
      restoreDeviceIds: [],
      restoreSuspendedDeviceIds: ['card'],
      reinstateCredentialIds: [],
    });
  });

  it('a credential another request still holds stays suspended when one request lets go', () => {
    const r = planCancellation({
      originalDevice: { id: 'card', state: 'invalid' },
      suspendedCredentialIds: ['a', 'shared'],
      heldElsewhereCredentialIds: ['shared'],
      stillHeldByAnotherRequest: true,
    });
    expect(r.ok && r.value).toMatchObject({ restoreDeviceIds: [], reinstateCredentialIds: ['a'] });
  });
});

describe('permanent over temporary (ref. 003 example)', () => {
  it('the permanent request joins the holds and moves no device', () => {
    const r = planPermanentOverTemporary({
      originalDevice: { id: 'card', state: 'invalid' },
      reason: 'lost',
      credentialIdsOnTarget: ['auth', 'km'],
      credentialStatusById: { auth: 'suspended', km: 'suspended' },
      heldElsewhereCredentialIds: ['auth', 'km'],
    });
    expect(r.ok && r.value).toMatchObject({
      invalidateDeviceIds: [],
      suspendCredentialIds: [],
      joinHoldCredentialIds: ['auth', 'km'],
    });
  });

  it('refuses a second temporary request', () => {
    const r = planPermanentOverTemporary({
      originalDevice: { id: 'card', state: 'invalid' },
      reason: 'forgotten',
      credentialIdsOnTarget: [],
    });
    expect(r.ok).toBe(false);
  });

  it('issuing it ends the original and the temporary device, each with its reason', () => {
    const r = planPermanentIssued({
      reason: 'stolen',
      invalidDevices: [{ id: 'card', state: 'invalid' }],
      temporaryDevices: [{ id: 'temp', state: 'active' }],
      credentialIdsByDevice: { card: ['auth', 'km'], temp: ['t-auth', 'km'] },
      credentialStatusById: { 't-auth': 'valid' },
    });
    expect(r.ok && r.value).toMatchObject({
      terminateDeviceIds: ['card', 'temp'],
      revokeCredentials: [
        { credentialId: 'auth', reason: 'keyCompromise' },
        { credentialId: 'km', reason: 'keyCompromise' },
        { credentialId: 't-auth', reason: 'cessationOfOperation' },
      ],
    });
  });
});

describe('key-management key per reason (docs/replacement.md)', () => {
  it('ending a temporary device gives the original its restored key back: not revoked, taken off the temporary device', () => {
    const r = planTemporaryTermination({
      originalDevice: { id: 'card', state: 'invalid' },
      temporaryDevice: { id: 'temp', state: 'active' },
      suspendedCredentialIds: ['auth', 'km'],
      temporaryCredentialIds: ['t-auth', 'km'],
    });
    expect(r.ok && r.value).toMatchObject({
      reinstateCredentialIds: ['auth', 'km'],
      revokeCredentials: [{ credentialId: 't-auth', reason: 'cessationOfOperation' }],
      uninstallCredentials: [{ credentialId: 'km', deviceId: 'temp' }],
    });
  });

  it.each([
    ['damaged', true, false],
    ['expired', true, false],
    ['lost', false, true],
    ['stolen', false, true],
    ['forgotten', false, true],
  ] as const)('%s: certificate kept valid %s, new key %s', (reason, keep, fresh) => {
    expect(keyRecoveryFor(reason)).toEqual({
      restoreArchivedKey: true,
      keepCertificateValid: keep,
      issueNewKey: fresh,
    });
  });

  it('a kept key-management credential is carried over, not revoked, and released from its hold', () => {
    const r = planPermanentIssued({
      reason: 'damaged',
      invalidDevices: [{ id: 'card', state: 'invalid' }],
      credentialIdsByDevice: { card: ['auth', 'km'] },
      keptCredentialIds: ['km'],
    });
    expect(r.ok && r.value).toMatchObject({
      revokeCredentials: [{ credentialId: 'auth', reason: 'superseded' }],
      reinstateCredentialIds: ['km'],
    });
  });
});
