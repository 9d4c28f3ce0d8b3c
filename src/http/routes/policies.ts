import { Type, type Static } from '@sinclair/typebox';
import type { FastifyPluginAsync } from 'fastify';
import { DEVICE_TYPES } from '../../domain/device.js';
import type { Runtime } from '../../runtime.js';
import { CERTIFICATE_PROFILE_NAMES, PIV_SLOTS } from '../../domain/credential-profile.js';
import { CARD_KEY_ALGORITHMS } from '../../domain/key-algorithm.js';
import type { PolicyInput } from '../../services/policy-service.js';
import { actorOf } from '../auth-guard.js';
import { IdParams, Timestamp, Uuid, errorResponses, listOf, literalUnion } from '../schemas.js';

const CredentialProfile = Type.Object(
  {
    name: Type.String({ minLength: 1, maxLength: 64 }),
    slot: literalUnion(PIV_SLOTS),
    keyAlgorithm: literalUnion(CARD_KEY_ALGORITHMS),
    certificateProfile: literalUnion(CERTIFICATE_PROFILE_NAMES),
    validityDays: Type.Integer({ minimum: 1, maximum: 3650 }),
    archiveKey: Type.Boolean(),
  },
  { additionalProperties: false },
);
export const PinPolicy = Type.Object(
  {
    minLength: Type.Integer({ minimum: 1, maximum: 16 }),
    maxLength: Type.Integer({ minimum: 1, maximum: 16 }),
    charset: literalUnion(['digits', 'alphanumeric'] as const),
    noRepeatedDigits: Type.Boolean(),
    noSequences: Type.Boolean(),
    retries: Type.Integer({ minimum: 1, maximum: 15 }),
  },
  { additionalProperties: false },
);
const PolicyBody = Type.Object(
  {
    name: Type.String({ minLength: 1, maxLength: 100 }),
    description: Type.String({ maxLength: 1000 }),
    deviceTypes: Type.Array(literalUnion(DEVICE_TYPES), { minItems: 1, uniqueItems: true }),
    credentialProfiles: Type.Array(CredentialProfile, { minItems: 1, maxItems: 4 }),
    pinPolicy: PinPolicy,
    pukRetries: Type.Integer({ minimum: 1, maximum: 15 }),
    deviceValidityDays: Type.Integer({ minimum: 1, maximum: 3650 }),
    defaultLayout: Type.Union([Type.String({ maxLength: 100 }), Type.Null()]),
  },
  { additionalProperties: false },
);
const Policy = Type.Object({
  id: Uuid,
  ...PolicyBody.properties,
  version: Type.Integer(),
  createdAt: Timestamp,
  updatedAt: Timestamp,
});

export const policyRoutes =
  (rt: Runtime): FastifyPluginAsync =>
  async (app) => {
    const policies = rt.services.policies;
    const tags = ['device policies'];

    app.get(
      '/api/policies',
      {
        config: { permission: 'policy.read' },
        schema: { tags, summary: 'Device policies', response: { 200: listOf(Policy), ...errorResponses } },
      },
      async () => {
        const items = await policies.list();
        return { items, total: items.length };
      },
    );

    app.post(
      '/api/policies',
      {
        config: { permission: 'policy.write' },
        schema: {
          tags,
          summary: 'Create a device policy',
          body: PolicyBody,
          response: { 201: Policy, ...errorResponses },
        },
      },
      async (req, reply) =>
        reply.status(201).send(await policies.create(actorOf(req), req.body as PolicyInput)),
    );

    app.get(
      '/api/policies/:id',
      {
        config: { permission: 'policy.read' },
        schema: {
          tags,
          summary: 'One device policy',
          params: IdParams,
          response: { 200: Policy, ...errorResponses },
        },
      },
      async (req) => policies.get((req.params as IdParams).id),
    );

    app.put(
      '/api/policies/:id',
      {
        config: { permission: 'policy.write' },
        schema: {
          tags,
          summary: 'Replace a device policy (devices already issued keep what they were issued with)',
          params: IdParams,
          body: PolicyBody,
          response: { 200: Policy, ...errorResponses },
        },
      },
      async (req) =>
        policies.update(
          actorOf(req),
          (req.params as IdParams).id,
          req.body as Static<typeof PolicyBody> as PolicyInput,
        ),
    );
  };
