/**
 * Checks HTTP responses against an OpenAPI 3.1 document, for the tests ARCHITECTURE asks of
 * every HTTP API ("responses checked against it in tests"). Schemas are checked with a small
 * JSON Schema 2020-12 subset — type, enum, const, properties, required, additionalProperties,
 * items, min/maxItems, min/maxLength, pattern, minimum, allOf/anyOf/oneOf and local `$ref` —
 * which is what our documents use; a keyword outside it is reported, never silently ignored.
 */

/** A JSON Schema object as it appears in an OpenAPI 3.1 document. */
export type JsonSchema = Record<string, unknown>;

export interface OpenApiDocument {
  openapi: string;
  paths: Record<string, Record<string, unknown>>;
  components?: { schemas?: Record<string, JsonSchema> };
  [key: string]: unknown;
}

export interface ObservedResponse {
  method: string;
  /** The request path, e.g. `/register/abc` (matched against templates like `/register/{clientId}`). */
  path: string;
  status: number;
  /** The response Content-Type header; checked against the documented media types. */
  contentType?: string | null;
  /** The parsed JSON body, or undefined for a response without one. */
  body: unknown;
}

const KNOWN_KEYWORDS = new Set([
  'type',
  'enum',
  'const',
  'properties',
  'required',
  'additionalProperties',
  'items',
  'minItems',
  'maxItems',
  'minLength',
  'maxLength',
  'pattern',
  'minimum',
  'maximum',
  'allOf',
  'anyOf',
  'oneOf',
  '$ref',
  // annotations
  'description',
  'title',
  'format',
  'examples',
  'example',
  'default',
  'deprecated',
  'readOnly',
  'writeOnly',
]);

/**
 * The problems of `response` against `doc`: an undocumented path, method or status, a media
 * type not listed, or a body that breaks the schema. An empty list means it conforms.
 *
 * @example
 * assert.deepEqual(checkOpenApiResponse(doc, { method: 'GET', path: '/register/x', status: 200,
 *   contentType: res.headers.get('content-type'), body }), []);
 */
export function checkOpenApiResponse(doc: OpenApiDocument, response: ObservedResponse): string[] {
  const template = Object.keys(doc.paths).find((candidate) => pathMatches(candidate, response.path));
  if (!template) return [`no path in the document matches ${response.path}`];
  const operation = doc.paths[template]?.[response.method.toLowerCase()] as
    { responses?: Record<string, { content?: Record<string, { schema?: JsonSchema }> }> } | undefined;
  if (!operation) return [`${response.method} ${template} is not documented`];
  const documented = operation.responses?.[String(response.status)] ?? operation.responses?.default;
  if (!documented) return [`${response.method} ${template} does not document status ${response.status}`];
  const content = resolveRef(doc, documented as JsonSchema) as { content?: Record<string, { schema?: JsonSchema }> };
  if (!content.content) {
    return response.body === undefined ? [] : [`status ${response.status} is documented without a body`];
  }
  const mediaType = (response.contentType ?? '').split(';')[0]!.trim().toLowerCase();
  const media = content.content[mediaType];
  if (!media) return [`media type ${mediaType || '(none)'} is not documented for status ${response.status}`];
  return media.schema ? checkSchema(doc, media.schema, response.body, '$') : [];
}

/** The problems of `value` against `schema` (JSON pointer-ish paths from `$`). */
export function checkSchema(doc: OpenApiDocument, schema: JsonSchema, value: unknown, at = '$'): string[] {
  const resolved = resolveRef(doc, schema);
  const problems: string[] = [];
  for (const keyword of Object.keys(resolved)) {
    if (!KNOWN_KEYWORDS.has(keyword)) problems.push(`${at}: schema keyword ${keyword} is not supported by the checker`);
  }
  if (resolved.type !== undefined && !typeMatches(resolved.type, value)) {
    return [...problems, `${at}: expected ${JSON.stringify(resolved.type)}, got ${describe(value)}`];
  }
  if (Array.isArray(resolved.enum) && !resolved.enum.some((option) => deepEqual(option, value))) {
    problems.push(`${at}: ${JSON.stringify(value)} is not one of ${JSON.stringify(resolved.enum)}`);
  }
  if ('const' in resolved && !deepEqual(resolved.const, value)) {
    problems.push(`${at}: expected ${JSON.stringify(resolved.const)}`);
  }
  if (typeof value === 'string') {
    if (typeof resolved.minLength === 'number' && value.length < resolved.minLength)
      problems.push(`${at}: shorter than ${resolved.minLength}`);
    if (typeof resolved.maxLength === 'number' && value.length > resolved.maxLength)
      problems.push(`${at}: longer than ${resolved.maxLength}`);
    if (typeof resolved.pattern === 'string' && !new RegExp(resolved.pattern, 'u').test(value))
      problems.push(`${at}: does not match ${resolved.pattern}`);
  }
  if (typeof value === 'number') {
    if (typeof resolved.minimum === 'number' && value < resolved.minimum)
      problems.push(`${at}: below ${resolved.minimum}`);
    if (typeof resolved.maximum === 'number' && value > resolved.maximum)
      problems.push(`${at}: above ${resolved.maximum}`);
  }
  if (Array.isArray(value)) {
    if (typeof resolved.minItems === 'number' && value.length < resolved.minItems)
      problems.push(`${at}: fewer than ${resolved.minItems} items`);
    if (typeof resolved.maxItems === 'number' && value.length > resolved.maxItems)
      problems.push(`${at}: more than ${resolved.maxItems} items`);
    if (isSchema(resolved.items)) {
      const items = resolved.items;
      value.forEach((item, index) => problems.push(...checkSchema(doc, items, item, `${at}[${index}]`)));
    }
  }
  if (isPlainObject(value)) problems.push(...checkObject(doc, resolved, value, at));
  if (Array.isArray(resolved.allOf)) {
    for (const part of resolved.allOf as JsonSchema[]) problems.push(...checkSchema(doc, part, value, at));
  }
  if (Array.isArray(resolved.anyOf)) {
    const passing = (resolved.anyOf as JsonSchema[]).filter((part) => checkSchema(doc, part, value, at).length === 0);
    if (passing.length === 0) problems.push(`${at}: matches none of anyOf`);
  }
  if (Array.isArray(resolved.oneOf)) {
    const passing = (resolved.oneOf as JsonSchema[]).filter((part) => checkSchema(doc, part, value, at).length === 0);
    if (passing.length !== 1) problems.push(`${at}: matches ${passing.length} of oneOf, expected exactly 1`);
  }
  return problems;
}

function checkObject(doc: OpenApiDocument, schema: JsonSchema, value: Record<string, unknown>, at: string): string[] {
  const problems: string[] = [];
  const properties = isPlainObject(schema.properties) ? (schema.properties as Record<string, JsonSchema>) : {};
  if (Array.isArray(schema.required)) {
    for (const name of schema.required as string[]) {
      if (!(name in value)) problems.push(`${at}: missing required property ${name}`);
    }
  }
  for (const [name, item] of Object.entries(value)) {
    const propertySchema = properties[name];
    if (propertySchema) problems.push(...checkSchema(doc, propertySchema, item, `${at}.${name}`));
    else if (schema.additionalProperties === false) problems.push(`${at}: property ${name} is not allowed`);
    else if (isSchema(schema.additionalProperties))
      problems.push(...checkSchema(doc, schema.additionalProperties, item, `${at}.${name}`));
  }
  return problems;
}

function resolveRef(doc: OpenApiDocument, schema: JsonSchema): JsonSchema {
  let current = schema;
  for (let depth = 0; typeof current.$ref === 'string'; depth += 1) {
    if (depth > 20) throw new Error(`$ref cycle at ${current.$ref}`);
    const ref = current.$ref;
    if (!ref.startsWith('#/')) throw new Error(`only local $refs are supported, got ${ref}`);
    let target: unknown = doc;
    for (const segment of ref.slice(2).split('/')) {
      target = (target as Record<string, unknown> | undefined)?.[segment.replace(/~1/g, '/').replace(/~0/g, '~')];
    }
    if (!isPlainObject(target)) throw new Error(`$ref ${ref} does not resolve`);
    const { $ref: _ref, ...siblings } = current;
    current = { ...(target as JsonSchema), ...siblings };
  }
  return current;
}

function pathMatches(template: string, path: string): boolean {
  const templateParts = template.split('/');
  const pathParts = path.split('?')[0]!.split('/');
  return (
    templateParts.length === pathParts.length &&
    templateParts.every((part, index) => /^\{[^}]+\}$/.test(part) || part === pathParts[index])
  );
}

function typeMatches(type: unknown, value: unknown): boolean {
  const types = Array.isArray(type) ? type : [type];
  return types.some((name) => {
    switch (name) {
      case 'null':
        return value === null;
      case 'boolean':
        return typeof value === 'boolean';
      case 'string':
        return typeof value === 'string';
      case 'number':
        return typeof value === 'number' && Number.isFinite(value);
      case 'integer':
        return Number.isInteger(value);
      case 'array':
        return Array.isArray(value);
      case 'object':
        return isPlainObject(value);
      default:
        return false;
    }
  });
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  return typeof value;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function isSchema(value: unknown): value is JsonSchema {
  return isPlainObject(value);
}

function deepEqual(a: unknown, b: unknown): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}
