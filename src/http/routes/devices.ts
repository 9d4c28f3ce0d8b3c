import { Type, type Static } from '@sinclair/typebox';
import type { FastifyPluginAsync } from 'fastify';
import { DEVICE_STATES, DEVICE_TYPES } from '../../domain/device.js';
import type { Runtime } from '../../runtime.js';
import { actorOf } from '../auth-guard.js';
import { Device, IdParams, Paging, Uuid, errorResponses, listOf, literalUnion } from '../schemas.js';

const Search = Type.Object(
  {
    q: Type.Optional(Type.String({ maxLength: 128 })),
    state: Type.Optional(literalUnion(DEVICE_STATES)),
    type: Type.Optional(literalUnion(DEVICE_TYPES)),
    userId: Type.Optional(Uuid),
    ...Paging,
  },
  { additionalProperties: false },
);
const RegisterBody = Type.Object(
  {
    serial: Type.String({ minLength: 1, maxLength: 64 }),
    type: literalUnion(DEVICE_TYPES),
    model: Type.Optional(Type.String({ maxLength: 128 })),
    notes: Type.Optional(Type.String({ maxLength: 1000 })),
  },
  { additionalProperties: false },
);
const ImportBody = Type.Object(
  { csv: Type.String({ minLength: 1, maxLength: 4 * 1024 * 1024 }) },
  { additionalProperties: false },
);
const ImportReport = Type.Object({
  created: Type.Integer(),
  refused: Type.Integer(),
  rows: Type.Array(
    Type.Object({
      line: Type.Integer(),
      serial: Type.Union([Type.String(), Type.Null()]),
      status: literalUnion(['created', 'refused'] as const),
      error: Type.Optional(Type.String()),
    }),
  ),
});

export const deviceRoutes =
  (rt: Runtime): FastifyPluginAsync =>
  async (app) => {
    const devices = rt.services.devices;
    const tags = ['devices'];

    app.get(
      '/api/devices',
      {
        config: { permission: 'device.read' },
        schema: {
          tags,
          summary: 'Search the device inventory',
          querystring: Search,
          response: { 200: listOf(Device), ...errorResponses },
        },
      },
      async (req) => devices.search(req.query as Static<typeof Search>),
    );

    app.post(
      '/api/devices',
      {
        config: { permission: 'device.register' },
        schema: {
          tags,
          summary: 'Register one blank device',
          body: RegisterBody,
          response: { 201: Device, ...errorResponses },
        },
      },
      async (req, reply) =>
        reply.status(201).send(await devices.register(actorOf(req), req.body as Static<typeof RegisterBody>)),
    );

    app.post(
      '/api/devices/import',
      {
        config: { permission: 'device.register' },
        schema: {
          tags,
          summary: 'Register blank devices from CSV (header serial,type[,model][,notes]); reports each row',
          body: ImportBody,
          response: { 200: ImportReport, ...errorResponses },
        },
      },
      async (req) => devices.importCsv(actorOf(req), (req.body as Static<typeof ImportBody>).csv),
    );

    app.get(
      '/api/devices/:id',
      {
        config: { permission: 'device.read' },
        schema: {
          tags,
          summary: 'One device',
          params: IdParams,
          response: { 200: Device, ...errorResponses },
        },
      },
      async (req) => devices.get((req.params as IdParams).id),
    );
  };
