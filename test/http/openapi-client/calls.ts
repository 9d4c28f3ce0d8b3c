// What an integrator writes against the client generated from the OpenAPI document: the types come
// from `npx openapi-typescript <server>/api/openapi.json -o api.d.ts` (docs/api.md), the calls from
// openapi-fetch. openapi-contract.test.ts generates api.d.ts, compiles this file with tsc against
// it, and then runs these calls against a running server. Nothing here names a path or a field the
// document does not declare: if the document drifted, this would stop compiling.
import createClient, { type Middleware } from 'openapi-fetch';
import type { paths } from './api.js';

export interface CallResults {
  usersTotal: number;
  certificatesTotal: number;
  createdUser: { id: string; username: string };
  refusedWithoutCsrf: { status: number; code: string };
  caDer: Uint8Array;
  caPem: string;
  sessionAfterLogout: number;
}

/** A cookie jar: the session cookie a sign-in sets goes with every later call. */
function cookieJar(): Middleware {
  let cookie = '';
  return {
    onRequest({ request }) {
      if (cookie) request.headers.set('cookie', cookie);
      return request;
    },
    onResponse({ response }) {
      const set = response.headers.get('set-cookie');
      if (set) cookie = set.split(';')[0]!;
      return response;
    },
  };
}

export async function runCalls(
  baseUrl: string,
  admin: { username: string; password: string },
  newUsername: string,
): Promise<CallResults> {
  const api = createClient<paths>({ baseUrl });
  api.use(cookieJar());

  const login = await api.POST('/api/auth/login', { body: admin });
  if (!login.data) throw new Error(`sign-in failed: ${login.error?.error.message}`);
  const csrf = { 'x-csrf-token': login.data.csrfToken };

  // Lists without paging: limit and offset are optional.
  const users = await api.GET('/api/users');
  const certificates = await api.GET('/api/certificates');
  if (!users.data || !certificates.data) throw new Error('a list failed');

  // A state change: the CSRF header with the session cookie; without it, the typed error body.
  const refused = await api.POST('/api/users', { body: { username: newUsername, displayName: 'Refused' } });
  const created = await api.POST('/api/users', {
    headers: csrf,
    body: { username: newUsername, displayName: 'Made by a generated client', roles: ['user'] },
  });
  if (!created.data) throw new Error(`create failed: ${created.error?.error.message}`);

  // Public /pki downloads: no session needed; the CA's id from the (signed-in) CA list.
  const cas = await api.GET('/api/cas');
  const ca = cas.data?.items.find((c) => c.active) ?? cas.data?.items[0];
  if (!ca) throw new Error('no CA');
  const anonymous = createClient<paths>({ baseUrl });
  const der = await anonymous.GET('/pki/ca/{file}', {
    params: { path: { file: `${ca.id}.crt` } },
    parseAs: 'arrayBuffer',
  });
  const pem = await anonymous.GET('/pki/ca/{file}', {
    params: { path: { file: `${ca.id}.pem` } },
    parseAs: 'text',
  });
  if (!der.data || pem.data === undefined) throw new Error('a /pki download failed');

  const logout = await api.POST('/api/auth/logout', { headers: csrf });
  if (logout.response.status !== 204) throw new Error(`logout answered ${logout.response.status}`);
  const after = await api.GET('/api/auth/session');

  return {
    usersTotal: users.data.total,
    certificatesTotal: certificates.data.total,
    createdUser: { id: created.data.id, username: created.data.username },
    refusedWithoutCsrf: { status: refused.response.status, code: refused.error?.error.code ?? '' },
    caDer: new Uint8Array(der.data),
    caPem: pem.data,
    sessionAfterLogout: after.response.status,
  };
}
