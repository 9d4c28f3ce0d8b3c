import { Type } from '@sinclair/typebox';
import type { FastifyPluginAsync } from 'fastify';
import { USER_ACTIONS } from '../../domain/user.js';
import type { Runtime } from '../../runtime.js';
import { actorOf } from '../auth-guard.js';
import { IdParams, User, errorResponses, listOf, type Paged } from '../schemas.js';
import { ok, op } from '../openapi.js';
import { NewUser, ReasonBody, UserDevices, UserPatch, UserSearch } from '../schemas/users.js';

export const userRoutes =
  (rt: Runtime): FastifyPluginAsync =>
  async (app) => {
    const users = rt.services.users;

    app.get(
      '/api/users',
      {
        config: { permission: 'user.read' },
        schema: {
          ...op('listUsers', 'users', 'Search people'),
          querystring: UserSearch,
          response: {
            200: ok(listOf(User), 'A page of the people who match, and how many match in all'),
            ...errorResponses,
          },
        },
      },
      async (req) => users.search(req.query as Paged<UserSearch>),
    );

    app.post(
      '/api/users',
      {
        config: { permission: 'user.create' },
        schema: {
          ...op('createUser', 'users', 'Create a person'),
          body: NewUser,
          response: { 201: ok(User, 'The person, created'), ...errorResponses },
        },
      },
      async (req, reply) => reply.status(201).send(await users.create(actorOf(req), req.body as NewUser)),
    );

    app.get(
      '/api/users/:id',
      {
        config: { permission: 'user.read' },
        schema: {
          ...op('getUser', 'users', 'One person'),
          params: IdParams,
          response: { 200: ok(User, 'The person'), ...errorResponses },
        },
      },
      async (req) => users.get((req.params as IdParams).id),
    );

    app.patch(
      '/api/users/:id',
      {
        config: { permission: 'user.update' },
        schema: {
          ...op('updateUser', 'users', 'Edit a person (display name, e-mail, roles, properties)'),
          params: IdParams,
          body: UserPatch,
          response: { 200: ok(User, 'The person as edited'), ...errorResponses },
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
            ...op(`${action}User`, 'users', `${action[0]!.toUpperCase()}${action.slice(1)} a person`),
            params: IdParams,
            body: Type.Optional(ReasonBody),
            response: { 200: ok(User, 'The person in their new state'), ...errorResponses },
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
          ...op('listUserDevices', 'users', "A person's devices"),
          params: IdParams,
          response: { 200: ok(UserDevices, "The person's devices"), ...errorResponses },
        },
      },
      async (req) => ({ items: await users.devices((req.params as IdParams).id) }),
    );
  };
