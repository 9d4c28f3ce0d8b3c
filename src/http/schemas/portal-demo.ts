// The demo hand-over of the user portal (GET and POST /api/portal/demo/reader): whether my
// bound demo cards can be taken to a reader of my own demo agent, and where they are.
import { Type, type Static } from '@sinclair/typebox';
import { DEVICE_STATES } from '../../domain/device.js';
import { Uuid, literalUnion } from '../schemas.js';

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
      reader: Type.String({ description: 'The demo reader it sits in (Tessera Virtual Reader 2)' }),
      agentName: Type.String({ description: 'Whose demo agent that reader belongs to: Demo agent (admin)' }),
    }),
    { description: 'My demo cards (bound or issued to me) that sit in a demo reader on this server' },
  ),
};
export const DemoReaderView = Type.Object(DemoReader);
export type DemoReaderView = Static<typeof DemoReaderView>;
export const DemoHandover = Type.Object({
  ...DemoReader,
  moved: Type.Array(Type.String(), { description: 'Serials moved into my readers by this call' }),
});
export type DemoHandover = Static<typeof DemoHandover>;
