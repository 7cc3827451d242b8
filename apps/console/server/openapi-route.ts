/**
 * GET /api/openapi.json: the contract generated from the routers this process
 * serves (packages/api/src/openapi), built on the first request and kept, since
 * the routers cannot change while the process runs. Public: it describes the
 * API, it grants nothing.
 */
import type { ServerResponse } from 'node:http';
import { appRouter, buildOpenApiDocument, HOT_PROCEDURES } from '@coolant/api';
import { DEFAULT_MAX_BODY, OWN_HEADERS } from './api-edge';

let text: string | null = null;

export function sendOpenApiDocument(res: ServerResponse, version: string): void {
  text ??= JSON.stringify(
    buildOpenApiDocument({ router: appRouter, version, hot: HOT_PROCEDURES, defaultMaxBody: DEFAULT_MAX_BODY }),
  );
  res.writeHead(200, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(text),
    ...OWN_HEADERS,
  });
  res.end(text);
}
