// The phone's wallet: one-time links (a QR code for the person's phone) and the wallet's WebSocket.
// A browser cannot set headers on a WebSocket, so the socket is opened without credentials and its
// first frame carries the one-time code (or the wallet's token on reconnect); anything else, or
// nothing within 10 s, closes it. After that the socket speaks the agent protocol (docs/mobile.md).
import { Type, type Static } from '@sinclair/typebox';
import { TypeCompiler } from '@sinclair/typebox/compiler';
import type { FastifyPluginAsync } from 'fastify';
import type { WebSocket } from 'ws';
import type { Runtime } from '../../runtime.js';
import { DomainError } from '../../domain/errors.js';
import { actorOf, type PermissionBySession } from '../auth-guard.js';
import { IdParams, errorResponses } from '../schemas.js';
import { ok, op } from '../openapi.js';
import {
  RequestWalletLinkBody,
  RequestWalletLinkSent,
  WalletLink,
  WalletLinkBody,
} from '../schemas/wallet.js';
import { WALLET_SOCKET_REFUSED } from '../../services/wallet/wallet-link-service.js';
import type { AgentRecord } from '../../services/wallet/wallet-status.js';

const FirstFrame = TypeCompiler.Compile(
  Type.Union([
    Type.Object(
      {
        v: Type.Literal(1),
        type: Type.Literal('wallet-link'),
        code: Type.String({ maxLength: 80 }),
        serial: Type.String({ maxLength: 12 }),
        token: Type.Optional(Type.String({ maxLength: 200 })),
      },
      { additionalProperties: false },
    ),
    Type.Object(
      {
        v: Type.Literal(1),
        type: Type.Literal('wallet-resume'),
        token: Type.String({ maxLength: 200 }),
        serial: Type.String({ maxLength: 12 }),
      },
      { additionalProperties: false },
    ),
  ]),
);

/** Operators issue to a person's phone with device.issue; a person links their own with self.issue. */
/** The wallet's own frames (the person's answers on the phone, remote issuance). */
const WalletFrame = TypeCompiler.Compile(
  Type.Union([
    Type.Object(
      { v: Type.Literal(1), type: Type.Literal('wallet-enrol'), requestId: Type.String({ maxLength: 40 }) },
      { additionalProperties: false },
    ),
    Type.Object(
      {
        v: Type.Literal(1),
        type: Type.Literal('wallet-pin'),
        jobId: Type.String({ maxLength: 40 }),
        pin: Type.String({ maxLength: 64 }),
        confirmation: Type.String({ maxLength: 64 }),
      },
      { additionalProperties: false },
    ),
    Type.Object(
      { v: Type.Literal(1), type: Type.Literal('wallet-retry'), jobId: Type.String({ maxLength: 40 }) },
      { additionalProperties: false },
    ),
    Type.Object(
      {
        v: Type.Literal(1),
        type: Type.Literal('wallet-pair'),
        pairingId: Type.String({ maxLength: 40 }),
        allow: Type.Boolean(),
      },
      { additionalProperties: false },
    ),
    Type.Object(
      { v: Type.Literal(1), type: Type.Literal('wallet-unpair'), pairingId: Type.String({ maxLength: 40 }) },
      { additionalProperties: false },
    ),
  ]),
);

const LINKING: PermissionBySession = { operator: 'device.issue', portal: 'self.issue' };
const FIRST_FRAME_MS = 10_000;

export const walletRoutes =
  (rt: Runtime): FastifyPluginAsync =>
  async (app) => {
    const links = rt.services.walletLinks;
    const status = rt.services.walletStatus;
    const enrolment = rt.services.walletEnrolment;
    const pairing = rt.services.walletPairing;
    /** Once the hub has the socket: the wallet hears how its device's issuance stands. */
    const follow = (socket: WebSocket, record: AgentRecord, serial: string): void => {
      status.follow(socket, record, serial).catch((e: unknown) => {
        app.log.warn({ err: e, agentId: record.id }, 'wallet status not followed');
      });
      void tellOffer(socket, record, serial);
      pairing.tellWallet(record.id).catch((e: unknown) => {
        app.log.warn({ err: e, agentId: record.id }, 'wallet pairings not told');
      });
      // Mobile ID (reference 004): a wallet that redeemed an order's link starts its issuance.
      rt.services.mobileIds.walletConnected(record, serial).catch((e: unknown) => {
        app.log.warn({ err: e, agentId: record.id }, 'mobile ID not started');
      });
    };
    const send = (socket: WebSocket, body: Record<string, unknown>): void => {
      if (socket.readyState === 1) socket.send(JSON.stringify({ v: 1, ...body }));
    };
    /** Remote issuance: what this wallet may enrol now ("new credentials are ready for you"). */
    const tellOffer = async (socket: WebSocket, record: AgentRecord, serial: string): Promise<void> => {
      try {
        send(socket, { type: 'wallet-offer', offer: await enrolment.offer(record, serial) });
      } catch (e) {
        app.log.warn({ err: e, agentId: record.id }, 'wallet offer not told');
      }
    };
    /** The person's answers on the phone; each gets a wallet-result (ok, or the refusal's message). */
    const onWalletFrame =
      (socket: WebSocket, record: AgentRecord, serial: string) =>
      (frame: unknown): void => {
        if (!WalletFrame.Check(frame))
          return send(socket, { type: 'wallet-result', of: 'unknown', ok: false, message: 'Not understood' });
        void (async () => {
          try {
            if (frame.type === 'wallet-enrol') await enrolment.enrol(record, serial, frame.requestId);
            else if (frame.type === 'wallet-pin')
              await enrolment.choosePin(record, frame.jobId, frame.pin, frame.confirmation);
            else if (frame.type === 'wallet-retry') await enrolment.retry(record, frame.jobId);
            else if (frame.type === 'wallet-pair') await pairing.decide(record, frame.pairingId, frame.allow);
            else await pairing.end('phone', record, frame.pairingId);
            send(socket, { type: 'wallet-result', of: frame.type, ok: true });
          } catch (e) {
            // Domain errors say why in words fit for the person and hold no secret; others do not.
            const message =
              e instanceof DomainError ? e.message : 'The server could not do this: try again in a moment';
            if (!(e instanceof DomainError))
              app.log.error({ err: e, agentId: record.id }, 'wallet frame failed');
            send(socket, { type: 'wallet-result', of: frame.type, ok: false, message });
          }
          await tellOffer(socket, record, serial);
        })();
      };

    app.post(
      '/api/wallet/links',
      {
        config: { permission: LINKING },
        schema: {
          ...op(
            'createWalletLink',
            'agents',
            "A one-time link (and its QR code) that makes a phone's wallet appear as a card in a reader",
          ),
          body: WalletLinkBody,
          response: {
            201: ok(
              WalletLink,
              'The link, its QR code and the reader name the phone will appear as (shown once)',
            ),
            ...errorResponses,
          },
        },
      },
      async (req, reply) => {
        const body = req.body as Static<typeof WalletLinkBody>;
        const actor = actorOf(req);
        const portal = req.auth!.session.kind === 'portal';
        const link = await links.create(
          actor,
          portal ? actor.id! : (body.userId ?? actor.id!),
          portal ? 'self_issuance' : 'operator_issuance',
        );
        // qrcode is loaded on the first wallet link, not at start-up (idle memory).
        const QRCode = (await import('qrcode')).default;
        const qrSvg = await QRCode.toString(link.url, { type: 'svg', errorCorrectionLevel: 'M', margin: 2 });
        return reply.status(201).send({ ...link, qrSvg });
      },
    );

    app.post(
      '/api/requests/:id/wallet-link',
      {
        config: { permission: 'request.submit' },
        schema: {
          ...op(
            'createRequestWalletLink',
            'replacement',
            "Remote issuance: a one-time link for the person's phone, shown (with its QR code) or e-mailed to them",
          ),
          params: IdParams,
          body: RequestWalletLinkBody,
          response: {
            201: ok(WalletLink, 'The link and its QR code, to show the person (shown once)'),
            200: ok(RequestWalletLinkSent, 'The link was e-mailed to the person'),
            ...errorResponses,
          },
        },
      },
      async (req, reply) => {
        const { id } = req.params as IdParams;
        const body = req.body as Static<typeof RequestWalletLinkBody>;
        if (body.delivery === 'email') return reply.send(await links.sendForRequest(actorOf(req), id));
        const link = await links.createForRequest(actorOf(req), id);
        const QRCode = (await import('qrcode')).default;
        const qrSvg = await QRCode.toString(link.url, { type: 'svg', errorCorrectionLevel: 'M', margin: 2 });
        return reply.status(201).send({ ...link, qrSvg });
      },
    );

    app.get(
      '/api/wallet/ws',
      {
        websocket: true,
        config: { public: true },
        schema: {
          ...op(
            'openWalletSocket',
            'agents',
            "The wallet's WebSocket: first frame the link code or token (docs/mobile.md)",
          ),
          hide: true,
        },
      },
      (socket: WebSocket) => {
        const refuse = (code: string, message: string): void => {
          if (socket.readyState === 1) socket.send(JSON.stringify({ v: 1, type: 'error', code, message }));
          socket.close(WALLET_SOCKET_REFUSED, message.slice(0, 120));
        };
        const timer = setTimeout(() => refuse('timeout', 'Send the link code first'), FIRST_FRAME_MS);
        timer.unref();
        socket.once('message', (data, isBinary) => {
          clearTimeout(timer);
          void (async () => {
            let frame: unknown;
            try {
              frame = isBinary ? undefined : JSON.parse(data.toString());
            } catch {
              frame = undefined;
            }
            if (!FirstFrame.Check(frame))
              return refuse('protocol_error', 'The first frame must be the wallet link code or token');
            try {
              if (frame.type === 'wallet-link') {
                const w = await links.redeem({ code: frame.code, serial: frame.serial, token: frame.token });
                socket.send(
                  JSON.stringify({
                    v: 1,
                    type: 'wallet-linked',
                    walletId: w.record.id,
                    name: w.record.name,
                    token: w.token,
                    purpose: w.purpose,
                  }),
                );
                rt.agentHub.attach(socket, w.record, {
                  onWalletFrame: onWalletFrame(socket, w.record, frame.serial),
                });
                follow(socket, w.record, frame.serial);
              } else {
                const record = await links.resume(frame.token, frame.serial);
                if (!record)
                  return refuse(
                    'unauthenticated',
                    'This wallet is not linked (or was unlinked): ask for a new link',
                  );
                socket.send(
                  JSON.stringify({ v: 1, type: 'wallet-linked', walletId: record.id, name: record.name }),
                );
                rt.agentHub.attach(socket, record, {
                  onWalletFrame: onWalletFrame(socket, record, frame.serial),
                });
                follow(socket, record, frame.serial);
              }
            } catch (e) {
              if (e instanceof DomainError) return refuse(e.code, e.message);
              app.log.error({ err: e }, 'wallet link failed');
              return refuse('internal', 'The server could not link this wallet: try again');
            }
          })();
        });
      },
    );
  };
