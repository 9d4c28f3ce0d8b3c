// The directory connection (LDAP): settings with a write-only bind password, a connection test and
// a sync. Permission directory.manage.
import type { FastifyPluginAsync } from 'fastify';
import type { Runtime } from '../../runtime.js';
import { actorOf } from '../auth-guard.js';
import { ErrorResponse, errorResponses } from '../schemas.js';
import { ok, op } from '../openapi.js';
import {
  DirectoryInput,
  DirectorySyncReport,
  DirectoryTestResult,
  DirectoryView,
} from '../schemas/directory.js';

const peerErrors = { 502: ErrorResponse };

export const directoryRoutes =
  (rt: Runtime): FastifyPluginAsync =>
  async (app) => {
    const dir = rt.services.directory;

    app.get(
      '/api/directory',
      {
        config: { permission: 'directory.manage' },
        schema: {
          ...op(
            'getDirectory',
            'directory',
            'The directory (LDAP) connection settings; the bind password is never returned',
          ),
          response: {
            200: ok(
              DirectoryView,
              'The directory settings (whether a bind password is set, never the password)',
            ),
            ...errorResponses,
          },
        },
      },
      async () => dir.get(),
    );

    app.put(
      '/api/directory',
      {
        config: { permission: 'directory.manage' },
        bodyLimit: 256 * 1024, // CA certificates and up to 100 group mappings
        schema: {
          ...op(
            'replaceDirectory',
            'directory',
            'Change the directory settings (omit bindPassword to keep it, null to remove it)',
          ),
          body: DirectoryInput,
          response: { 200: ok(DirectoryView, 'The directory settings as saved'), ...errorResponses },
        },
      },
      async (req) => dir.put(actorOf(req), req.body as DirectoryInput),
    );

    app.post(
      '/api/directory/test',
      {
        config: { permission: 'directory.manage' },
        schema: {
          ...op(
            'testDirectory',
            'directory',
            'Connect, bind as the service account and count the people the filter selects',
          ),
          response: {
            200: ok(DirectoryTestResult, 'Connected and bound: how many people the filter selects'),
            ...errorResponses,
            ...peerErrors,
          },
        },
      },
      async () => dir.test(),
    );

    app.post(
      '/api/directory/sync',
      {
        config: { permission: 'directory.manage' },
        schema: {
          ...op(
            'syncDirectory',
            'directory',
            'Import and update people from the directory; suspend those removed from it',
          ),
          response: {
            200: ok(DirectorySyncReport, 'What the synchronization did: people created, updated, suspended'),
            ...errorResponses,
            ...peerErrors,
          },
        },
      },
      async (req) => dir.sync(actorOf(req)),
    );
  };
