// How the agent reports a failure to the server (connect-error, apdu-error, print-error): a code the
// protocol accepts (the error's own when it is one, else agent_error) and a bounded message.

export function errorFields(e: unknown): { code: string; message: string } {
  const code = (e as { code?: unknown }).code;
  return {
    code: typeof code === 'string' && /^[a-z0-9_]{1,64}$/.test(code) ? code : 'agent_error',
    message: (e instanceof Error ? e.message : String(e)).slice(0, 2000),
  };
}
