// The workstation's relay to a paired phone (docs/mobile.md "Use at a workstation"): the WebSocket
// `tessera agent --wallet` opens with its agent token (Authorization: Bearer, as the agent socket),
// to pair with its person's phone and relay the workstation's APDUs to it. Every frame is checked
// against its schema (bounded); the use case is services/wallet/workstation-relay.ts.
import { Type } from '@sinclair/typebox';
import { TypeCompiler } from '@sinclair/typebox/compiler';
import type { FastifyPluginAsync, FastifyRequest } from 'fastify';
import type { WebSocket } from 'ws';
import type { Runtime } from '../../runtime.js';
import type { AgentRecord } from '../../services/pairing-service.js';
import { keepAlive } from '../../services/socket-keepalive.js';
import { errorBody } from '../errors.js';

const frame = <T extends Record<string, ReturnType<typeof Type.String>>>(type: string, fields: T = {} as T) =>
  Type.Object({ v: Type.Literal(1), type: Type.Literal(type), ...fields }, { additionalProperties: false });

const RelayFrame = TypeCompiler.Compile(
  Type.Union([
    frame('pair'),
    frame('resume', { pairingId: Type.String({ maxLength: 40 }) }),
    frame('unpair'),
    frame('power-on'),
    frame('power-off'),
    // A short or extended APDU, hex: 65,544 bytes at most.
    frame('apdu', {
      id: Type.String({ maxLength: 40 }),
      apdu: Type.String({ minLength: 8, maxLength: 131_088, pattern: '^([0-9a-fA-F]{2})+$' }),
    }),
  ]),
);

export const walletRelayRoutes =
  (rt: Runtime): FastifyPluginAsync =>
  async (app) => {
    const agentOf = new WeakMap<FastifyRequest, AgentRecord>();
    app.get(
      '/api/wallet/relay',
      {
        websocket: true,
        config: { public: true },
        schema: {
          summary:
            "The workstation's relay to its person's phone (Authorization: Bearer <agent token>); see docs/mobile.md",
          tags: ['agents'],
          hide: true,
        },
        preValidation: async (req, reply) => {
          const m = /^Bearer\s+(\S+)$/i.exec(req.headers.authorization ?? '');
          const agent = m ? await rt.services.agents.authenticate(m[1]) : null;
          if (!agent || agent.ownerKind === 'wallet')
            return reply
              .status(401)
              .send(
                errorBody(
                  'unauthenticated',
                  'This agent token is unknown or revoked: pair the agent again',
                  String(req.id),
                ),
              );
          agentOf.set(req, agent);
        },
      },
      (socket: WebSocket, req) => {
        const agent = agentOf.get(req);
        if (!agent) return socket.close(4003, 'not authenticated');
        const session = rt.services.workstationRelay.open(
          agent,
          (r) => {
            if (socket.readyState === 1) socket.send(JSON.stringify({ v: 1, ...r }));
          },
          (code, reason) => {
            socket.close(code, reason);
            // A peer that ignores the close handshake is cut off anyway.
            setTimeout(() => socket.terminate(), 1000).unref();
          },
        );
        socket.on('message', (data, isBinary) => {
          let f: unknown;
          try {
            f = isBinary ? undefined : JSON.parse(data.toString());
          } catch {
            f = undefined;
          }
          if (!RelayFrame.Check(f)) {
            socket.send(
              JSON.stringify({ v: 1, type: 'error', code: 'protocol_error', message: 'Not understood' }),
            );
            return;
          }
          const { v: _v, ...body } = f as { v: 1 } & Record<string, unknown>;
          session.onFrame(body as Parameters<typeof session.onFrame>[0]);
        });
        socket.on('close', () => void session.close());
        socket.on('error', () => undefined);
        // A workstation that vanished answers no ping: its session ends (the card connection to the
        // phone closed, the pairing no longer followed) instead of lingering until TCP notices.
        keepAlive(socket, rt.services.workstationRelay.heartbeatMs, () =>
          req.log.info({ agentId: agent.id }, 'workstation relay silent: cut off'),
        );
      },
    );
  };
