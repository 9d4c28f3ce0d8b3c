// Which ids of an audit event name something, and of what kind (issue 19 item 11).
import { describe, expect, it } from 'vitest';
import { auditRefIds, refTypeOfKey } from '../../src/domain/audit-refs.js';

const U1 = '11111111-1111-4111-8111-111111111111';
const U2 = '22222222-2222-4222-8222-222222222222';
const D1 = '33333333-3333-4333-8333-333333333333';
const A1 = '44444444-4444-4444-8444-444444444444';
const J1 = '55555555-5555-4555-8555-555555555555';

describe('refTypeOfKey', () => {
  it.each([
    ['userId', 'user'],
    ['ownerUserId', 'user'],
    ['personId', 'user'],
    ['deviceId', 'device'],
    ['targetDeviceId', 'device'],
    ['fromAgentId', 'agent'],
    ['agentId', 'agent'],
    ['issuingCaId', 'ca'],
    ['caIds', 'ca'],
    ['policyId', 'policy'],
    ['requestId', 'request'],
    ['layoutId', 'layout'],
    ['certificateId', 'certificate'],
    ['jobId', null],
    ['correlationId', null],
    ['serial', null],
    ['id', null],
  ])('%s → %s', (key, type) => expect(refTypeOfKey(key)).toBe(type));
});

describe('auditRefIds', () => {
  it('takes the actor, a named target and the ids in the details (nested too), each once', () => {
    const refs = auditRefIds({
      actorId: U1,
      targetType: 'user',
      targetId: U2,
      details: {
        userId: U2,
        deviceId: D1,
        jobId: J1,
        serial: '10000002',
        cards: [{ serial: '10000002', fromAgentId: A1, fromReader: 'Tessera Virtual Reader 2' }],
        caIds: [U1, 'not-a-uuid'],
      },
    });
    expect(refs).toEqual([
      { type: 'user', id: U1 },
      { type: 'user', id: U2 },
      { type: 'device', id: D1 },
      { type: 'agent', id: A1 },
      { type: 'ca', id: U1 },
    ]);
  });

  it('leaves a target of a kind without a name, and a system actor, alone', () => {
    expect(auditRefIds({ actorId: null, targetType: 'settings', targetId: 'security', details: {} })).toEqual(
      [],
    );
  });
});
