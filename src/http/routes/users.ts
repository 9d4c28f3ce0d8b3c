import { Type } from '@sinclair/typebox';
import type { FastifyPluginAsync } from 'fastify';
import { USER_ACTIONS } from '../../domain/user.js';
import type { Runtime } from '../../runtime.js';
import { actorOf } from '../auth-guard.js';
import { IdParams, User, errorResponses, listOf } from '../schemas.js';
import { NewUser, ReasonBody, UserDevices, UserPatch, UserSearch } from '../schemas/users.js';

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
          querystring: UserSearch,
          response: { 200: listOf(User), ...errorResponses },
        },
      },
      async (req) => users.search(req.query as UserSearch),
    );

    app.post(
      '/api/users',
      {
        config: { permission: 'user.create' },
        schema: {
          tags,
          summary: 'Create a person',
          body: NewUser,
          response: { 201: User, ...errorResponses },
        },
      },
      async (req, reply) => reply.status(201).send(await users.create(actorOf(req), req.body as NewUser)),
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
          body: UserPatch,
          response: { 200: User, ...errorResponses },
        },
      },
      async (req) => users.update(actorOf(req), (req.params as IdParams).id, req.body as UserPatch),
    );

    for (const action of USER_ACTIONS) {
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
            (req.body as ReasonBody | undefined)?.reason,
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
          response: { 200: UserDevices, ...errorResponses },
        },
      },
      async (req) => ({ items: await users.devices((req.params as IdParams).id) }),
    );
  };
