// The demo hand-over of the user portal (`tessera start` only): the demo cards sit in the
// administrator's virtual readers, but self-issuance needs the card in a reader of MY agent. These
// routes tell the portal whether the hand-over is offered and perform it (see services/demo-agent).
import type { FastifyPluginAsync } from 'fastify';
import type { Runtime } from '../../runtime.js';
import { DemoUnavailableError } from '../../services/demo-agent.js';
import { actorOf } from '../auth-guard.js';
import { errorResponses } from '../schemas.js';
import { ok, op } from '../openapi.js';
import { DemoHandover, DemoReaderView } from '../schemas/portal-demo.js';

export const portalDemoRoutes =
  (rt: Runtime): FastifyPluginAsync =>
  async (app) => {
    app.get(
      '/api/portal/demo/reader',
      {
        config: { permission: 'self.issue' },
        schema: {
          ...op(
            'getMyDemoReader',
            'user portal',
            'Demo only: whether my card can be taken to a demo reader on this server, and where it is',
          ),
          response: {
            200: ok(DemoReaderView, 'Whether my card can be moved to a demo reader, and where it is'),
            ...errorResponses,
          },
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
          ...op(
            'takeMyDemoCard',
            'user portal',
            'Demo only: take my bound demo cards out of the demo readers they sit in and put them in a reader of my own demo agent',
          ),
          description:
            'Starts (or reuses) a demo agent paired to me and moves every demo card bound or issued to me into its readers, ' +
            'so GET /api/portal/cards lists them and POST /api/portal/issuance can issue them. Idempotent. ' +
            '409 demo_unavailable when the server does not run the demo agents; 409 no_demo_card when no card of mine is in a demo reader.',
          response: { 200: ok(DemoHandover, 'Where my demo cards are now'), ...errorResponses },
        },
      },
      async (req) => {
        if (!rt.demoAgents) throw new DemoUnavailableError();
        return rt.demoAgents.handOver(actorOf(req));
      },
    );
  };
