// The phone's wallet: a one-time link and its QR code (docs/mobile.md).
import { Type, type Static } from '@sinclair/typebox';
import { Timestamp, Uuid, literalUnion } from '../schemas.js';

export const WalletLinkBody = Type.Object(
  {
    userId: Type.Optional(
      Type.Union([Uuid], { description: 'Operators: the person whose phone (default: yourself)' }),
    ),
  },
  { additionalProperties: false },
);
export type WalletLinkBody = Static<typeof WalletLinkBody>;

export const WalletLink = Type.Object({
  code: Type.String({ description: 'Shown once: the one-time code the link carries' }),
  url: Type.String({ description: 'The link the QR code carries (the code in its fragment)' }),
  expiresAt: Timestamp,
  purpose: literalUnion(['self_issuance', 'operator_issuance', 'remote_issuance'] as const),
  readerName: Type.String({ description: 'The reader the wallet appears as: "<person>\'s phone"' }),
  qrSvg: Type.String({ description: 'The QR code of url, as SVG' }),
  requestId: Type.Optional(Uuid),
});
export type WalletLink = Static<typeof WalletLink>;

export const RequestWalletLinkBody = Type.Object(
  {
    delivery: literalUnion(['show', 'email'] as const, {
      description: 'show: the answer holds the link and its QR code; email: it is sent to the person',
    }),
  },
  { additionalProperties: false },
);

export const RequestWalletLinkSent = Type.Object({
  sentTo: Type.String(),
  expiresAt: Timestamp,
});
