import type { FastifyPluginAsync } from 'fastify';
import type { Runtime } from '../../runtime.js';
import { actorOf } from '../auth-guard.js';
import { Device, IdParams, errorResponses, listOf, type Paged } from '../schemas.js';
import { ok, op } from '../openapi.js';
import { DeviceListItem, DeviceSearch, ImportBody, ImportReport, NewDevice } from '../schemas/devices.js';

export const deviceRoutes =
  (rt: Runtime): FastifyPluginAsync =>
  async (app) => {
    const devices = rt.services.devices;

    app.get(
      '/api/devices',
      {
        config: { permission: 'device.read' },
        schema: {
          ...op('listDevices', 'devices', 'Search the device inventory'),
          querystring: DeviceSearch,
          response: {
            200: ok(listOf(DeviceListItem), 'A page of the devices that match, and how many match in all'),
            ...errorResponses,
          },
        },
      },
      async (req) => devices.search(req.query as Paged<DeviceSearch>),
    );

    app.post(
      '/api/devices',
      {
        config: { permission: 'device.register' },
        schema: {
          ...op('registerDevice', 'devices', 'Register one blank device'),
          body: NewDevice,
          response: { 201: ok(Device, 'The device, registered blank in inventory'), ...errorResponses },
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
          ...op(
            'importDevices',
            'devices',
            'Register blank devices from CSV (header serial,type[,model][,notes]); reports each row',
          ),
          body: ImportBody,
          response: {
            200: ok(ImportReport, 'What became of each row: registered, or refused and why'),
            ...errorResponses,
          },
        },
      },
      async (req) => devices.importCsv(actorOf(req), (req.body as ImportBody).csv),
    );

    app.get(
      '/api/devices/:id',
      {
        config: { permission: 'device.read' },
        schema: {
          ...op('getDevice', 'devices', 'One device'),
          params: IdParams,
          response: { 200: ok(Device, 'The device'), ...errorResponses },
        },
      },
      async (req) => devices.get((req.params as IdParams).id),
    );
  };
