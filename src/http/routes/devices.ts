import type { FastifyPluginAsync } from 'fastify';
import type { Runtime } from '../../runtime.js';
import { actorOf } from '../auth-guard.js';
import { Device, IdParams, errorResponses, listOf } from '../schemas.js';
import { DeviceSearch, ImportBody, ImportReport, NewDevice } from '../schemas/devices.js';

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
          querystring: DeviceSearch,
          response: { 200: listOf(Device), ...errorResponses },
        },
      },
      async (req) => devices.search(req.query as DeviceSearch),
    );

    app.post(
      '/api/devices',
      {
        config: { permission: 'device.register' },
        schema: {
          tags,
          summary: 'Register one blank device',
          body: NewDevice,
          response: { 201: Device, ...errorResponses },
        },
      },
      async (req, reply) =>
        reply.status(201).send(await devices.register(actorOf(req), req.body as NewDevice)),
    );

    app.post(
      '/api/devices/import',
      {
        config: { permission: 'device.register' },
        bodyLimit: 5 * 1024 * 1024, // 4 MiB of CSV, escaped as a JSON string
        schema: {
          tags,
          summary: 'Register blank devices from CSV (header serial,type[,model][,notes]); reports each row',
          body: ImportBody,
          response: { 200: ImportReport, ...errorResponses },
        },
      },
      async (req) => devices.importCsv(actorOf(req), (req.body as ImportBody).csv),
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
