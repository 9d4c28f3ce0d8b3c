// Card layouts (CRUD, templates, previews), people's photos and the printing settings (reference 002).
import type { FastifyPluginAsync } from 'fastify';
import type { Runtime } from '../../runtime.js';
import type { LayoutInput as LayoutInputT } from '../../services/printing/layout-service.js';
import { actorOf } from '../auth-guard.js';
import { file, noContent, ok, op } from '../openapi.js';
import { IdParams, errorResponses, listOf } from '../schemas.js';
import {
  DraftPreview,
  IMAGE_BASE64_MAX,
  Layout,
  LayoutInput,
  LayoutTemplate,
  PhotoInfo,
  PhotoUpload,
  PreviewQuery,
  PrintOutcome,
  PrinterChoice,
  Printers,
  PrintSampleInput,
  PrintSettings,
  PrintStatus,
} from '../schemas/layouts.js';
import { Type } from '@sinclair/typebox';

/** A layout may carry a few images (a logo, a seal): room for them, base64 in JSON. */
const LAYOUT_BODY_LIMIT = 2 * 1024 * 1024;
const PHOTO_BODY_LIMIT = IMAGE_BASE64_MAX + 1024;

const pdfReply = {
  200: file('The card as a PDF, one page per side', { 'application/pdf': 'PDF' }),
  ...errorResponses,
};

export const layoutRoutes =
  (rt: Runtime): FastifyPluginAsync =>
  async (app) => {
    const layouts = rt.services.layouts;

    app.get(
      '/api/layouts',
      {
        config: { permission: 'policy.read' },
        schema: {
          ...op('listLayouts', 'card printing', 'Card layouts'),
          response: { 200: ok(listOf(Layout), 'Every card layout'), ...errorResponses },
        },
      },
      async () => {
        const items = await layouts.list();
        return { items, total: items.length };
      },
    );

    app.get(
      '/api/layouts/templates',
      {
        config: { permission: 'policy.read' },
        schema: {
          ...op(
            'listLayoutTemplates',
            'card printing',
            'Built-in layouts to start from (the PIV layout of FIPS 201-3)',
          ),
          response: {
            200: ok(Type.Object({ items: Type.Array(LayoutTemplate) }), 'The built-in layouts'),
            ...errorResponses,
          },
        },
      },
      async () => ({ items: layouts.templates() }),
    );

    app.get(
      '/api/layouts/properties',
      {
        config: { permission: 'policy.read' },
        schema: {
          ...op(
            'listLayoutProperties',
            'card printing',
            'Person properties a layout may print (those people have and the directory maps)',
          ),
          response: {
            200: ok(
              Type.Object({ items: Type.Array(Type.String()) }),
              'The property names a layout may print',
            ),
            ...errorResponses,
          },
        },
      },
      async () => ({ items: await layouts.knownProperties() }),
    );

    app.post(
      '/api/layouts',
      {
        bodyLimit: LAYOUT_BODY_LIMIT,
        config: { permission: 'policy.write' },
        schema: {
          ...op('createLayout', 'card printing', 'Create a card layout'),
          body: LayoutInput,
          response: { 201: ok(Layout, 'The layout, created'), ...errorResponses },
        },
      },
      async (req, reply) =>
        reply.status(201).send(await layouts.create(actorOf(req), req.body as LayoutInputT)),
    );

    app.post(
      '/api/layouts/preview',
      {
        bodyLimit: LAYOUT_BODY_LIMIT,
        config: { permission: 'policy.read' },
        schema: {
          ...op(
            'previewLayoutDraft',
            'card printing',
            'Render an unsaved layout (the editor’s live preview)',
          ),
          body: DraftPreview,
          response: pdfReply,
        },
      },
      async (req, reply) => {
        const b = req.body as DraftPreview;
        const pdf = await layouts.preview(
          actorOf(req),
          { definition: b.definition as LayoutInputT['definition'] },
          { ...(b.userId ? { userId: b.userId } : {}), ...(b.side ? { side: b.side } : {}) },
        );
        return reply.type('application/pdf').send(pdf);
      },
    );

    app.get(
      '/api/layouts/:id',
      {
        config: { permission: 'policy.read' },
        schema: {
          ...op('getLayout', 'card printing', 'One card layout'),
          params: IdParams,
          response: { 200: ok(Layout, 'The layout'), ...errorResponses },
        },
      },
      async (req) => layouts.get((req.params as IdParams).id),
    );

    app.put(
      '/api/layouts/:id',
      {
        bodyLimit: LAYOUT_BODY_LIMIT,
        config: { permission: 'policy.write' },
        schema: {
          ...op('replaceLayout', 'card printing', 'Replace a card layout'),
          params: IdParams,
          body: LayoutInput,
          response: { 200: ok(Layout, 'The layout as replaced'), ...errorResponses },
        },
      },
      async (req) => layouts.update(actorOf(req), (req.params as IdParams).id, req.body as LayoutInputT),
    );

    app.delete(
      '/api/layouts/:id',
      {
        config: { permission: 'policy.write' },
        schema: {
          ...op('deleteLayout', 'card printing', 'Delete a card layout'),
          params: IdParams,
          response: { 204: noContent('Done: it is gone'), ...errorResponses },
        },
      },
      async (req, reply) => {
        await layouts.remove(actorOf(req), (req.params as IdParams).id);
        return reply.status(204).send();
      },
    );

    app.get(
      '/api/layouts/:id/preview',
      {
        config: { permission: 'policy.read' },
        schema: {
          ...op(
            'previewLayout',
            'card printing',
            'The layout rendered for a person (or a sample person), both sides or one',
          ),
          params: IdParams,
          querystring: PreviewQuery,
          response: pdfReply,
        },
      },
      async (req, reply) => {
        const q = req.query as PreviewQuery;
        const pdf = await layouts.preview(
          actorOf(req),
          { layoutId: (req.params as IdParams).id },
          { ...(q.userId ? { userId: q.userId } : {}), ...(q.side ? { side: q.side } : {}) },
        );
        return reply.type('application/pdf').send(pdf);
      },
    );

    app.get(
      '/api/users/:id/photo',
      {
        config: { permission: 'user.read' },
        schema: {
          ...op('getUserPhoto', 'card printing', 'The person’s photo (image/jpeg or image/png)'),
          params: IdParams,
          response: {
            200: file('The photo, as stored', { 'image/jpeg': 'JPEG', 'image/png': 'PNG' }),
            ...errorResponses,
          },
        },
      },
      async (req, reply) => {
        const p = await rt.services.photos.get((req.params as IdParams).id);
        return reply.type(p.contentType).header('etag', `"${p.sha256}"`).send(p.data);
      },
    );

    app.put(
      '/api/users/:id/photo',
      {
        bodyLimit: PHOTO_BODY_LIMIT,
        config: { permission: 'user.update' },
        schema: {
          ...op(
            'setUserPhoto',
            'card printing',
            'Set the person’s photo (a JPEG or PNG, base64, at most 512 KiB)',
          ),
          params: IdParams,
          body: PhotoUpload,
          response: { 200: ok(PhotoInfo, 'The photo, stored: its type, size and hash'), ...errorResponses },
        },
      },
      async (req) =>
        rt.services.photos.put(
          actorOf(req),
          (req.params as IdParams).id,
          Buffer.from((req.body as PhotoUpload).data, 'base64'),
        ),
    );

    app.delete(
      '/api/users/:id/photo',
      {
        config: { permission: 'user.update' },
        schema: {
          ...op('deleteUserPhoto', 'card printing', 'Remove the person’s photo'),
          params: IdParams,
          response: { 204: noContent('Done: it is gone'), ...errorResponses },
        },
      },
      async (req, reply) => {
        await rt.services.photos.remove(actorOf(req), (req.params as IdParams).id);
        return reply.status(204).send();
      },
    );

    app.get(
      '/api/printers',
      {
        config: { permission: 'device.bind' },
        schema: {
          ...op(
            'listPrinters',
            'card printing',
            'The card printers of your connected agents, each with its encoder (one of the agent’s readers)',
          ),
          response: {
            200: ok(Printers, 'The printers, and whether printing is available'),
            ...errorResponses,
          },
        },
      },
      async (req) => rt.services.printing.printers(actorOf(req)),
    );

    app.put(
      '/api/printers/preference',
      {
        config: { permission: 'device.bind' },
        schema: {
          ...op(
            'configurePrinter',
            'card printing',
            'Configure: remember your card printer and its encoder on that workstation (proposed next time)',
          ),
          body: PrinterChoice,
          response: {
            200: ok(Printers, 'The printers, with this choice proposed'),
            ...errorResponses,
          },
        },
      },
      async (req) => rt.services.printing.configure(actorOf(req), req.body as PrinterChoice),
    );

    app.post(
      '/api/layouts/:id/print',
      {
        config: { permission: 'device.issue' },
        schema: {
          ...op(
            'printLayoutSample',
            'card printing',
            'Print a sample card with this layout on one of your printers, and wait for the job’s end',
          ),
          params: IdParams,
          body: PrintSampleInput,
          response: { 200: ok(PrintOutcome, 'The print job completed'), ...errorResponses },
        },
      },
      async (req) => {
        const b = req.body as PrintSampleInput;
        const { pdf: _pdf, ...outcome } = await rt.services.printing.printSample(actorOf(req), {
          layoutId: (req.params as IdParams).id,
          printerId: b.printerId,
          ...(b.userId ? { userId: b.userId } : {}),
        });
        return outcome;
      },
    );

    app.get(
      '/api/settings/printing',
      {
        config: { permission: 'settings.read' },
        schema: {
          ...op('getPrintingSettings', 'card printing', 'Whether card printing is available'),
          response: {
            200: ok(PrintStatus, 'Whether card printing is on, and the issuer name'),
            ...errorResponses,
          },
        },
      },
      async () => rt.services.printSettings.status(),
    );

    app.put(
      '/api/settings/printing',
      {
        config: { permission: 'settings.write' },
        schema: {
          ...op(
            'replacePrintingSettings',
            'card printing',
            'Turn card printing on or off; the issuer name printed on cards',
          ),
          body: PrintSettings,
          response: { 200: ok(PrintStatus, 'The printing settings as saved'), ...errorResponses },
        },
      },
      async (req) => rt.services.printSettings.put(actorOf(req), req.body as PrintSettings),
    );
  };
