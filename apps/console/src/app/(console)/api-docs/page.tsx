import { ApiDocs } from './api-docs';

/** The API's contract for people: /api/openapi.json, read from this console and laid out by router. */
export default function ApiDocsPage() {
  return (
    <>
      <h1>API</h1>
      <p className="muted">
        Every procedure, generated from the routers and their zod schemas. The machine-readable contract is{' '}
        <a href="/api/openapi.json">/api/openapi.json</a> (OpenAPI 3.1): generate a client for any language from it.
      </p>
      <ApiDocs />
    </>
  );
}
