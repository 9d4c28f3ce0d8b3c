// The demo hand-over of the user portal (`tessera start` only): the demo cards sit in the
// administrator's virtual readers, but self-issuance needs the card in a reader of MY agent. These
// routes tell the portal whether the hand-over is offered and perform it (see services/demo-agent).
import { Type } from '@sinclair/typebox';
import type { FastifyPluginAsync } from 'fastify';
import { DEVICE_STATES } from '../../domain/device.js';
import type { Runtime } from '../../runtime.js';
import { DemoUnavailableError } from '../../services/demo-agent.js';
import { actorOf } from '../auth-guard.js';
import { Uuid, errorResponses, literalUnion } from '../schemas.js';

const DemoReader = {
  available: Type.Boolean({
    description: 'Whether this server runs the built-in demo agents (tessera start, not serve)',
  }),
  agent: Type.Union([
    Type.Object({
      id: Uuid,
      name: Type.String(),
      readers: Type.Array(
        Type.Object({ reader: Type.String(), serial: Type.Union([Type.String(), Type.Null()]) }),
      ),
    }),
    Type.Null(),
  ]),
  cards: Type.Array(
    Type.Object({
      serial: Type.String(),
      deviceId: Uuid,
      state: literalUnion(DEVICE_STATES),
      inMyReader: Type.Boolean({ description: 'Already in a reader of my demo agent' }),
    }),
    { description: 'My demo cards (bound or issued to me) that sit in a demo reader on this server' },
  ),
};
const DemoReaderView = Type.Object(DemoReader);
const DemoHandover = Type.Object({
  ...DemoReader,
  moved: Type.Array(Type.String(), { description: 'Serials moved into my readers by this call' }),
});

export const portalDemoRoutes =
  (rt: Runtime): FastifyPluginAsync =>
  async (app) => {
    const tags = ['user portal'];

    app.get(
      '/api/portal/demo/reader',
      {
        config: { permission: 'self.issue' },
        schema: {
          tags,
          summary: 'Demo only: whether my card can be taken to a demo reader on this server, and where it is',
          response: { 200: DemoReaderView, ...errorResponses },
        },
      },
      async (req) =>
        rt.demoAgents ? rt.demoAgents.view(req.auth!.user.id) : { available: false, agent: null, cards: [] },
    );

    app.post(
      '/api/portal/demo/reader',
      {
        config: { permission: 'self.issue' },
        schema: {
          tags,
          summary:
            'Demo only: take my bound demo cards out of the demo readers they sit in and put them in a reader of my own demo agent',
          description:
            'Starts (or reuses) a demo agent paired to me and moves every demo card bound or issued to me into its readers, ' +
            'so GET /api/portal/cards lists them and POST /api/portal/issuance can issue them. Idempotent. ' +
            '409 demo_unavailable when the server does not run the demo agents; 409 no_demo_card when no card of mine is in a demo reader.',
          response: { 200: DemoHandover, ...errorResponses },
        },
      },
      async (req) => {
        if (!rt.demoAgents) throw new DemoUnavailableError();
        return rt.demoAgents.handOver(actorOf(req));
      },
    );
  };
