// The PIV conformance view of a device (issue #16): the last read-back report, stored at issuance,
// and "check again" with the card in a reader of the operator's agent.
import type { FastifyPluginAsync } from 'fastify';
import type { Runtime } from '../../runtime.js';
import { actorOf } from '../auth-guard.js';
import { ok, op } from '../openapi.js';
import { IdParams, errorResponses } from '../schemas.js';
import { ConformanceCheck, ConformanceReport, DeviceConformance } from '../schemas/conformance.js';

export const conformanceRoutes =
  (rt: Runtime): FastifyPluginAsync =>
  async (app) => {
    const conformance = rt.services.conformance;

    app.get(
      '/api/devices/:id/conformance',
      {
        config: { permission: 'device.read' },
        schema: {
          ...op(
            'getDeviceConformance',
            'devices',
            'The last PIV conformance report of the device’s card: each object and slot, present and signed',
          ),
          params: IdParams,
          response: { 200: ok(DeviceConformance, 'The report, or null if never checked'), ...errorResponses },
        },
      },
      async (req) => {
        const { id } = req.params as IdParams;
        return { deviceId: id, report: await conformance.get(id) };
      },
    );

    app.post(
      '/api/devices/:id/conformance',
      {
        config: { permission: 'device.issue' },
        schema: {
          ...op(
            'checkDeviceConformance',
            'devices',
            'Read the device’s card in a reader of my agent now, check it and keep the report',
          ),
          params: IdParams,
          body: ConformanceCheck,
          response: { 200: ok(ConformanceReport, 'The new report'), ...errorResponses },
        },
      },
      async (req) =>
        conformance.check(actorOf(req), (req.params as IdParams).id, req.body as ConformanceCheck),
    );
  };
