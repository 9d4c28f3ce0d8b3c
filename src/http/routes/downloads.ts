// The agent's executables, for a person to download and run on their workstation, each with its
// SHA-256. Public on purpose: an executable holds no secret and does nothing for anyone until it is
// paired with a one-time code from a signed-in portal session; and people fetch it from a terminal
// (curl, wget) where they have no session.
import { createReadStream } from 'node:fs';
import { Type, type Static } from '@sinclair/typebox';
import type { FastifyPluginAsync } from 'fastify';
import type { Runtime } from '../../runtime.js';
import {
  AGENT_ARCHES,
  AGENT_OSES,
  AgentDownloads,
  defaultDownloadsDir,
} from '../../services/agent-downloads.js';
import { errorBody } from '../errors.js';
import { ErrorResponse, Timestamp, literalUnion } from '../schemas.js';
import { ok, op } from '../openapi.js';

const CHECKSUM_SUFFIX = '.sha256';

const Download = Type.Object({
  file: Type.String({ description: 'e.g. tessera-agent-linux-x64' }),
  os: literalUnion(AGENT_OSES),
  arch: literalUnion(AGENT_ARCHES),
  size: Type.Integer({ description: 'Bytes' }),
  sha256: Type.String({ description: 'Hex SHA-256 of the file' }),
  builtAt: Timestamp,
  url: Type.String({ description: 'Path of the file on this server' }),
  checksumUrl: Type.String({ description: 'Path of its checksum, in the format of sha256sum' }),
});
const DownloadList = Type.Object({ items: Type.Array(Download) });
const FileParams = Type.Object(
  { file: Type.String({ minLength: 1, maxLength: 100 }) },
  { additionalProperties: false },
);

export const downloadRoutes =
  (rt: Runtime): FastifyPluginAsync =>
  async (app) => {
    const downloads = new AgentDownloads(rt.config.downloadsDir ?? defaultDownloadsDir());

    app.get(
      '/api/downloads',
      {
        config: { public: true },
        schema: {
          ...op('listDownloads', 'agents', 'The agent executables this server offers, with their SHA-256'),
          description:
            'Empty when none has been built (npm run build:agent). Public: an agent is of no use until paired with a one-time code.',
          response: { 200: ok(DownloadList, 'The executables on offer (empty when none is built)') },
        },
      },
      async () => ({
        items: (await downloads.list()).map((d) => ({
          ...d,
          builtAt: d.builtAt.toISOString(),
          url: `/downloads/${d.file}`,
          checksumUrl: `/downloads/${d.file}${CHECKSUM_SUFFIX}`,
        })),
      }),
    );

    app.get<{ Params: Static<typeof FileParams> }>(
      '/downloads/:file',
      {
        config: { public: true },
        schema: {
          ...op(
            'downloadAgent',
            'agents',
            'An agent executable, or its checksum (name.sha256, checked with sha256sum -c)',
          ),
          params: FileParams,
          response: {
            200: {
              description: 'The executable (an attachment), or its checksum line for sha256sum -c',
              content: {
                'application/octet-stream': { schema: { type: 'string', format: 'binary' } },
                'text/plain': { schema: { type: 'string', description: '<sha256>  <file>' } },
              },
            },
            404: ErrorResponse,
          },
        },
      },
      async (req, reply) => {
        const asked = req.params.file;
        const checksum = asked.endsWith(CHECKSUM_SUFFIX);
        const file = checksum ? asked.slice(0, -CHECKSUM_SUFFIX.length) : asked;
        const found = await downloads.find(file);
        if (!found)
          return reply
            .status(404)
            .send(
              errorBody(
                'not_found',
                `This server offers no download named ${asked}: GET /api/downloads lists what it has`,
                String(req.id),
              ),
            );
        // A rebuilt file keeps its name: make caches ask again rather than keep an old build.
        reply.header('cache-control', 'no-cache');
        if (checksum) return reply.type('text/plain; charset=utf-8').send(`${found.sha256}  ${found.file}\n`);
        return reply
          .type('application/octet-stream')
          .header('content-length', found.size)
          .header('content-disposition', `attachment; filename="${found.file}"`)
          .send(createReadStream(downloads.pathOf(found.file)));
      },
    );
  };
