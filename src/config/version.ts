/** Tessera's version: the API reports it (/api/meta, OpenAPI) and the command prints it. */
export const VERSION = '0.1.0';
