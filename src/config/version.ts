// Generated from package.json by scripts/write-version.mjs (npm version runs it): do not edit.
/** Tessera's version: the API reports it (/api/meta, OpenAPI), the commands print it, the agent sends it. */
export const VERSION = '0.1.0';
