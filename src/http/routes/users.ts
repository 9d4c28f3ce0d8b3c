import { Type, type Static } from '@sinclair/typebox';
import type { FastifyPluginAsync } from 'fastify';
import { USER_STATES } from '../../domain/user.js';
import type { Runtime } from '../../runtime.js';
import { actorOf } from '../auth-guard.js';
import {
  Device,
  IdParams,
  Paging,
  Properties,
  Role,
  User,
  errorResponses,
  listOf,
  literalUnion,
} from '../schemas.js';

const Search = Type.Object(
  {
    q: Type.Optional(Type.String({ maxLength: 128 })),
    state: Type.Optional(literalUnion(USER_STATES)),
    role: Type.Optional(Role),
    ...Paging,
  },
  { additionalProperties: false },
);
const Email = Type.String({ format: 'email', maxLength: 254 });
const DisplayName = Type.String({ minLength: 1, maxLength: 128 });
const CreateBody = Type.Object(
  {
    username: Type.String({ minLength: 2, maxLength: 64 }),
    displayName: DisplayName,
    email: Type.Optional(Type.Union([Email, Type.Null()])),
    roles: Type.Optional(Type.Array(Role, { maxItems: 5, uniqueItems: true })),
    properties: Type.Optional(Properties),
  },
  { additionalProperties: false },
);
const PatchBody = Type.Object(
  {
    displayName: Type.Optional(DisplayName),
    email: Type.Optional(Type.Union([Email, Type.Null()])),
    roles: Type.Optional(Type.Array(Role, { minItems: 1, maxItems: 5, uniqueItems: true })),
    properties: Type.Optional(Properties),
  },
  { additionalProperties: false, minProperties: 1 },
);
const ReasonBody = Type.Object(
  { reason: Type.Optional(Type.String({ maxLength: 500 })) },
  { additionalProperties: false },
);

export const userRoutes =
  (rt: Runtime): FastifyPluginAsync =>
  async (app) => {
    const users = rt.services.users;
    const tags = ['users'];

    app.get(
      '/api/users',
      {
        config: { permission: 'user.read' },
        schema: {
          tags,
          summary: 'Search people',
          querystring: Search,
          response: { 200: listOf(User), ...errorResponses },
        },
      },
      async (req) => users.search(req.query as Static<typeof Search>),
    );

    app.post(
      '/api/users',
      {
        config: { permission: 'user.create' },
        schema: {
          tags,
          summary: 'Create a person',
          body: CreateBody,
          response: { 201: User, ...errorResponses },
        },
      },
      async (req, reply) =>
        reply.status(201).send(await users.create(actorOf(req), req.body as Static<typeof CreateBody>)),
    );

    app.get(
      '/api/users/:id',
      {
        config: { permission: 'user.read' },
        schema: { tags, summary: 'One person', params: IdParams, response: { 200: User, ...errorResponses } },
      },
      async (req) => users.get((req.params as IdParams).id),
    );

    app.patch(
      '/api/users/:id',
      {
        config: { permission: 'user.update' },
        schema: {
          tags,
          summary: 'Edit a person (display name, e-mail, roles, properties)',
          params: IdParams,
          body: PatchBody,
          response: { 200: User, ...errorResponses },
        },
      },
      async (req) =>
        users.update(actorOf(req), (req.params as IdParams).id, req.body as Static<typeof PatchBody>),
    );

    for (const action of ['suspend', 'reactivate', 'terminate'] as const) {
      app.post(
        `/api/users/:id/${action}`,
        {
          config: { permission: 'user.lifecycle' },
          schema: {
            tags,
            summary: `${action[0]!.toUpperCase()}${action.slice(1)} a person`,
            params: IdParams,
            body: Type.Optional(ReasonBody),
            response: { 200: User, ...errorResponses },
          },
        },
        async (req) =>
          users.changeState(
            actorOf(req),
            (req.params as IdParams).id,
            action,
            (req.body as Static<typeof ReasonBody> | undefined)?.reason,
          ),
      );
    }

    app.get(
      '/api/users/:id/devices',
      {
        config: { permission: 'device.read' },
        schema: {
          tags,
          summary: "A person's devices",
          params: IdParams,
          response: { 200: Type.Object({ items: Type.Array(Device) }), ...errorResponses },
        },
      },
      async (req) => ({ items: await users.devices((req.params as IdParams).id) }),
    );
  };
