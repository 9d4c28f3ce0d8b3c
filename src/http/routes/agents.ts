// Agents: pairing codes, pairing, listing and revoking a person's agents, the readers they report,
// and the agents' WebSocket (authenticated by the agent's bearer token, not a session).
import { Type, type Static } from '@sinclair/typebox';
import type { FastifyPluginAsync, FastifyRequest } from 'fastify';
import type { Runtime } from '../../runtime.js';
import type { AgentRecord } from '../../services/pairing-service.js';
import { agentFeatures, FEATURES_HEADER } from '../../services/agent-hub.js';
import { actorOf, type PermissionBySession } from '../auth-guard.js';
import { errorBody } from '../errors.js';
import { ErrorResponse, IdParams, Uuid, errorResponses } from '../schemas.js';
import { ok, op } from '../openapi.js';
import { Agent, AgentList, PairingCode } from '../schemas/agents.js';

const PairBody = Type.Object(
  {
    code: Type.String({ minLength: 1, maxLength: 32 }),
    name: Type.String({ minLength: 1, maxLength: 100 }),
    hostname: Type.String({ maxLength: 255 }),
  },
  { additionalProperties: false },
);
const Paired = Type.Object({ agentId: Uuid, token: Type.String(), name: Type.String() });
const ListQuery = Type.Object(
  { all: Type.Optional(Type.Boolean({ description: 'Every agent (needs agent.manage)' })) },
  { additionalProperties: false },
);
const ConnectedReader = Type.Object({
  agentId: Uuid,
  agentName: Type.String(),
  reader: Type.String(),
  cardPresent: Type.Boolean(),
  atr: Type.Union([Type.String(), Type.Null()]),
});

/** Operators pair with agent.pair; a person in the user portal pairs for self-issuance (self.issue). */
const PAIRING: PermissionBySession = { operator: 'agent.pair', portal: 'self.issue' };

/**
 * Failed pairing attempts per client address: a code is one-time and short-lived, and this caps
 * guessing at a rate where 25^8 codes are out of reach.
 */
class AttemptLimiter {
  private readonly seen = new Map<string, { n: number; until: number }>();
  constructor(
    private readonly max: number,
    private readonly windowMs: number,
  ) {}
  blocked(key: string): boolean {
    const e = this.seen.get(key);
    if (!e || e.until < Date.now()) return false;
    return e.n >= this.max;
  }
  fail(key: string): void {
    const now = Date.now();
    const e = this.seen.get(key);
    if (!e || e.until < now) this.seen.set(key, { n: 1, until: now + this.windowMs });
    else e.n += 1;
    if (this.seen.size > 10_000) for (const [k, v] of this.seen) if (v.until < now) this.seen.delete(k);
  }
}

export const agentRoutes =
  (rt: Runtime): FastifyPluginAsync =>
  async (app) => {
    const pairing = rt.services.agents;
    const hub = rt.agentHub;
    const tags = ['agents'];
    const limiter = new AttemptLimiter(20, 10 * 60_000);
    const agentOf = new WeakMap<FastifyRequest, AgentRecord>();

    app.post(
      '/api/agents/pairing-codes',
      {
        config: { permission: PAIRING },
        schema: {
          ...op(
            'createPairingCode',
            'agents',
            'A one-time code (10 minutes) that pairs the next agent presenting it to you',
          ),
          body: Type.Optional(Type.Object({}, { additionalProperties: false })),
          response: {
            201: ok(PairingCode, 'The one-time pairing code and when it expires'),
            ...errorResponses,
          },
        },
      },
      async (req, reply) =>
        reply.status(201).send(await pairing.createCode(actorOf(req), req.auth!.session.kind)),
    );

    app.post(
      '/api/agents/pair',
      {
        config: { public: true, noCsrf: true },
        schema: {
          ...op(
            'pairAgent',
            'agents',
            'Trade a pairing code for an agent identity and its bearer token (called by `tessera agent`)',
          ),
          body: PairBody,
          response: {
            201: ok(Paired, 'Paired: the agent’s identity and its bearer token (shown once)'),
            429: ErrorResponse,
            ...errorResponses,
          },
        },
      },
      async (req, reply) => {
        const key = req.ip;
        if (limiter.blocked(key))
          return reply
            .status(429)
            .send(
              errorBody(
                'rate_limited',
                'Too many pairing attempts from this address: wait a few minutes',
                String(req.id),
              ),
            );
        try {
          return reply.status(201).send(await pairing.pair(req.body as Static<typeof PairBody>));
        } catch (e) {
          limiter.fail(key);
          throw e;
        }
      },
    );

    app.get(
      '/api/agents',
      {
        config: { permission: PAIRING },
        schema: {
          ...op('listAgents', 'agents', 'Your paired agents (all agents with ?all=true and agent.manage)'),
          querystring: ListQuery,
          response: {
            200: ok(AgentList, 'The agents, with whether each is connected'),
            ...errorResponses,
          },
        },
      },
      async (req) => {
        const items = await pairing.list(actorOf(req), req.query as Static<typeof ListQuery>);
        return { items, total: items.length };
      },
    );

    app.get(
      '/api/agents/readers',
      {
        config: { permission: PAIRING },
        schema: {
          ...op(
            'listAgentReaders',
            'agents',
            'The card readers of your connected agents, with whether a card is in each',
          ),
          response: {
            200: ok(
              Type.Array(ConnectedReader),
              'The readers of the connected agents, with whether a card is in each',
            ),
            ...errorResponses,
          },
        },
      },
      async (req) => rt.cardAccess.listReaders(req.auth!.user.id),
    );

    app.post(
      '/api/agents/:id/revoke',
      {
        config: { permission: 'authenticated' },
        schema: {
          ...op(
            'revokeAgent',
            'agents',
            'Revoke an agent (yours, or any with agent.manage): its token stops working, its socket closes',
          ),
          params: IdParams,
          body: Type.Optional(Type.Object({}, { additionalProperties: false })),
          response: { 200: ok(Agent, 'The agent, revoked'), ...errorResponses },
        },
      },
      async (req) => pairing.revoke(actorOf(req), (req.params as IdParams).id),
    );

    app.get(
      '/api/agents/ws',
      {
        websocket: true,
        config: { public: true },
        schema: {
          tags,
          summary: 'The agent WebSocket (Authorization: Bearer <agent token>); see docs/agent.md',
          hide: true,
        },
        preValidation: async (req, reply) => {
          const header = req.headers.authorization ?? '';
          const m = /^Bearer\s+(\S+)$/i.exec(header);
          const agent = m ? await pairing.authenticate(m[1]) : null;
          if (!agent)
            return reply
              .status(401)
              .send(
                errorBody(
                  'unauthenticated',
                  m
                    ? 'This agent token is unknown or revoked: pair the agent again'
                    : 'Send Authorization: Bearer <agent token>',
                  String(req.id),
                ),
              );
          agentOf.set(req, agent);
        },
      },
      (socket, req) => {
        const agent = agentOf.get(req);
        if (!agent) return socket.close(4003, 'not authenticated');
        hub.attach(socket, agent, { features: agentFeatures(req.headers[FEATURES_HEADER]) });
      },
    );
  };
