'use client';

/**
 * The API page: this console's own /api/openapi.json laid out for reading,
 * procedures grouped by router, each with its access, input and output as
 * TypeScript-like types and its error answers. No third-party renderer and no
 * asset from elsewhere: the page works on a console without internet.
 */
import { useEffect, useState } from 'react';

type TSchema = { [key: string]: unknown };
type TMedia = { content?: { 'application/json'?: { schema?: TSchema } } };
type TResponse = TMedia & { $ref?: string; description?: string };
type TOperation = {
  operationId: string;
  tags?: string[];
  description?: string;
  'x-coolant-access'?: string;
  parameters?: (TMedia & { name: string; required?: boolean })[];
  requestBody?: TMedia & { required?: boolean };
  responses: Record<string, TResponse>;
};
type TDocument = {
  info: { version: string };
  paths: Record<string, Record<string, TOperation>>;
  components: { schemas: Record<string, TSchema>; responses: Record<string, TResponse> };
};

function deref<T>(table: Record<string, T>, ref: unknown): T | undefined {
  return typeof ref === 'string' ? table[ref.split('/').pop() ?? ''] : undefined;
}

function constraints(s: TSchema): string {
  const parts: string[] = [];
  if (s.format) parts.push(String(s.format));
  else if (s.pattern) parts.push(`/${String(s.pattern)}/`);
  for (const [key, label] of [
    ['minimum', '≥'],
    ['maximum', '≤'],
    ['minLength', 'length ≥'],
    ['maxLength', 'length ≤'],
    ['minItems', 'items ≥'],
    ['maxItems', 'items ≤'],
  ] as const)
    if (typeof s[key] === 'number' && Math.abs(s[key]) < 2 ** 53 - 1) parts.push(`${label} ${s[key]}`);
  if (s.default !== undefined) parts.push(`default ${JSON.stringify(s.default)}`);
  return parts.length ? `  // ${parts.join(', ')}` : '';
}

/** A JSON Schema as a TypeScript-like type, one property a line. */
function typeText(doc: TDocument, s: TSchema | undefined, pad = '', depth = 0): string {
  if (!s || Object.keys(s).filter((k) => k !== 'description').length === 0) return 'any';
  if (s.$ref) {
    const target = deref(doc.components.schemas, s.$ref);
    return depth > 8 || !target ? String(s.$ref).split('/').pop()! : typeText(doc, target, pad, depth + 1);
  }
  const union = (s.anyOf ?? s.oneOf) as TSchema[] | undefined;
  if (union) return union.map((u) => typeText(doc, u, pad, depth + 1)).join(' | ');
  if (Array.isArray(s.enum)) return s.enum.map((v) => JSON.stringify(v)).join(' | ');
  if (s.const !== undefined) return JSON.stringify(s.const);
  if (Array.isArray(s.type)) return s.type.join(' | ');
  if (s.type === 'array') return `${typeText(doc, s.items as TSchema, pad, depth + 1)}[]`;
  if (s.type === 'object') {
    const props = Object.entries((s.properties ?? {}) as Record<string, TSchema>);
    const required = new Set((s.required ?? []) as string[]);
    const inner = `${pad}  `;
    const lines = props.map(
      ([k, v]) => `${inner}${k}${required.has(k) ? '' : '?'}: ${typeText(doc, v, inner, depth + 1)};${constraints(v)}`,
    );
    if (s.additionalProperties && typeof s.additionalProperties === 'object')
      lines.push(`${inner}[key: string]: ${typeText(doc, s.additionalProperties as TSchema, inner, depth + 1)};`);
    return lines.length ? `{\n${lines.join('\n')}\n${pad}}` : '{}';
  }
  return String(s.type ?? 'any');
}

function Procedure({ doc, route, method, op }: { doc: TDocument; route: string; method: string; op: TOperation }) {
  const input = op.parameters?.[0] ?? op.requestBody;
  const inputSchema = input?.content?.['application/json']?.schema;
  const okSchema = op.responses['200']?.content?.['application/json']?.schema as
    { properties?: { result?: { properties?: { data?: TSchema } } } } | undefined;
  const data = okSchema?.properties?.result?.properties?.data;
  return (
    <section data-testid={`procedure-${op.operationId}`} style={{ borderTop: '1px solid #ddd', padding: '8px 0 16px' }}>
      <h3>
        <code>
          {method.toUpperCase()} {route}
        </code>{' '}
        <span className="badge">{op['x-coolant-access']}</span>
      </h3>
      {op.description?.split('\n\n').map((p) => (
        <p key={p} className="small">
          {p}
        </p>
      ))}
      <div className="small">Input{input && !input.required ? ' (optional)' : ''}</div>
      <pre>{inputSchema ? typeText(doc, inputSchema) : 'none'}</pre>
      <div className="small">Output (result.data)</div>
      <pre>{typeText(doc, data)}</pre>
      <details>
        <summary className="small">Errors (tRPC error JSON)</summary>
        <ul className="small">
          {Object.entries(op.responses)
            .filter(([status]) => status !== '200')
            .map(([status, r]) => (
              <li key={status}>
                <strong>{status}</strong> {(deref(doc.components.responses, r.$ref) ?? r).description}
              </li>
            ))}
        </ul>
      </details>
    </section>
  );
}

export function ApiDocs() {
  const [doc, setDoc] = useState<TDocument | null>(null);
  const [error, setError] = useState<string | null>(null);
  useEffect(() => {
    fetch('/api/openapi.json')
      .then((r) => (r.ok ? (r.json() as Promise<TDocument>) : Promise.reject(new Error(`HTTP ${r.status}`))))
      .then(setDoc, (e: unknown) => setError(`Could not load /api/openapi.json: ${String(e)}`));
  }, []);
  if (error) return <p className="error">{error}</p>;
  if (!doc) return <p className="muted">Loading…</p>;
  const groups = new Map<string, { route: string; method: string; op: TOperation }[]>();
  for (const [route, item] of Object.entries(doc.paths))
    for (const [method, op] of Object.entries(item)) {
      const tag = op.tags?.[0] ?? 'other';
      groups.set(tag, [...(groups.get(tag) ?? []), { route, method, op }]);
    }
  return (
    <>
      <p className="small">
        Version {doc.info.version}. Queries are GET with the input as URL-encoded JSON in <code>?input=</code>;
        mutations are POST with a JSON body. Answers are <code>{'{"result":{"data":…}}'}</code>.
      </p>
      {[...groups].map(([tag, ops]) => (
        <div key={tag}>
          <h2 id={tag}>{tag}</h2>
          {ops.map((o) => (
            <Procedure key={o.op.operationId} doc={doc} {...o} />
          ))}
        </div>
      ))}
    </>
  );
}
