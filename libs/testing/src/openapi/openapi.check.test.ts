import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { checkOpenApiResponse, checkSchema, type OpenApiDocument } from './openapi.check';

const doc: OpenApiDocument = {
  openapi: '3.1.0',
  paths: {
    '/things/{id}': {
      get: {
        responses: {
          '200': { content: { 'application/json': { schema: { $ref: '#/components/schemas/Thing' } } } },
          '204': { description: 'no body' },
        },
      },
    },
  },
  components: {
    schemas: {
      Thing: {
        type: 'object',
        required: ['id', 'tags'],
        additionalProperties: false,
        properties: {
          id: { type: 'string', maxLength: 5 },
          tags: { type: 'array', items: { enum: ['a', 'b'] }, minItems: 1 },
          size: { type: 'integer', minimum: 0 },
        },
      },
    },
  },
};

const ok = { id: 'x1', tags: ['a'], size: 2 };

describe('OpenAPI response check', () => {
  test('accepts a response that matches its documented schema', () => {
    assert.deepEqual(
      checkOpenApiResponse(doc, {
        method: 'GET',
        path: '/things/x1',
        status: 200,
        contentType: 'application/json; charset=utf-8',
        body: ok,
      }),
      [],
    );
  });

  test('reports a missing required property, an extra property and a wrong item', () => {
    const problems = checkSchema(doc, { $ref: '#/components/schemas/Thing' }, { id: 'x', tags: ['c'], extra: 1 });
    assert.equal(problems.length, 2);
    assert.equal(checkSchema(doc, { $ref: '#/components/schemas/Thing' }, { id: 'x' }).length, 1);
  });

  test('reports an undocumented status, media type or path', () => {
    assert.equal(checkOpenApiResponse(doc, { method: 'GET', path: '/things/1', status: 500, body: {} }).length, 1);
    assert.equal(
      checkOpenApiResponse(doc, { method: 'GET', path: '/things/1', status: 200, contentType: 'text/html', body: ok })
        .length,
      1,
    );
    assert.equal(checkOpenApiResponse(doc, { method: 'GET', path: '/other', status: 200, body: ok }).length, 1);
  });

  test('accepts a body-less documented status and refuses a body where none is documented', () => {
    assert.deepEqual(checkOpenApiResponse(doc, { method: 'GET', path: '/things/1', status: 204, body: undefined }), []);
    assert.equal(checkOpenApiResponse(doc, { method: 'GET', path: '/things/1', status: 204, body: {} }).length, 1);
  });

  test('reports schema keywords it does not implement instead of ignoring them', () => {
    assert.equal(checkSchema(doc, { type: 'string', contentEncoding: 'base64' }, 'x').length, 1);
  });
});
