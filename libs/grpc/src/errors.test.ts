import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { credentials, Metadata, status, type ServiceError } from '@grpc/grpc-js';
import { tokensV1 } from '@obip/contracts';
import {
  BadRequestError,
  ConflictError,
  DependencyUnavailableError,
  DomainError,
  ForbiddenError,
  NotFoundError,
  PreconditionFailedError,
  TooManyRequestsError,
  UnauthorizedError,
} from '@obip/errors';
import { createGrpcClient, ERROR_CODE_METADATA_KEY, fromGrpcError, toGrpcStatus, type GrpcClient } from './index';
import { startTokensServer, type StartedServer } from './test-fixtures/harness';

/** The domain error each consent id makes the server throw. */
const thrownFor: Record<string, () => Error> = {
  'bad-request': () => new BadRequestError('reason is required', { code: 'invalid_request' }),
  unauthorized: () => new UnauthorizedError('unknown caller'),
  forbidden: () => new ForbiddenError('not your consent'),
  'not-found': () => new NotFoundError('no such consent', { code: 'consent_not_found' }),
  conflict: () => new ConflictError('already revoked by another request'),
  precondition: () => new PreconditionFailedError('consent is not authorised', { code: 'consent_not_authorised' }),
  'too-many': () => new TooManyRequestsError('slow down'),
  unavailable: () => new DependencyUnavailableError('redis is down'),
  'unexposed-bad-request': () =>
    new DomainError({
      kind: 'bad_request',
      code: 'internal_rule',
      description: 'rule 42 of the database',
      expose: false,
    }),
  unexpected: () => new Error('connection string mongodb://admin:hunter2@db failed'),
};

function expectDomainError(error: unknown): DomainError {
  assert.ok(error instanceof DomainError, `expected a DomainError, got ${String(error)}`);
  return error;
}

function serviceError(code: status, metadata: Record<string, string> = {}): ServiceError {
  const trailers = new Metadata();
  for (const [key, value] of Object.entries(metadata)) trailers.set(key, value);
  return Object.assign(new Error(`${code} from the wire`), { code, details: 'from the wire', metadata: trailers });
}

describe('error mapping across a gRPC call', () => {
  let started: StartedServer;
  let client: GrpcClient<typeof tokensV1.TokensService>;

  before(async () => {
    started = await startTokensServer({
      revokeByConsent: async ({ consentId }) => {
        const make = thrownFor[consentId];
        if (make) throw make();
        return { revokedCount: 1 };
      },
    });
    client = createGrpcClient(tokensV1.TokensClient, { target: `ipv4:///${started.target}` });
  });
  after(async () => {
    client.close();
    await started.server.shutdown(100);
  });

  const revoke = (consentId: string) => client.call('revokeByConsent', { consentId, reason: 'test' });

  for (const [consentId, make] of Object.entries(thrownFor)) {
    const thrown = make();
    if (!(thrown instanceof DomainError) || !thrown.expose) continue;
    test(`a DomainError of kind ${thrown.kind} thrown by a handler reaches the client as the same error class, kind, code and description`, async () => {
      const error = expectDomainError(await revoke(consentId).catch((e: unknown) => e));
      assert.equal(error.constructor, thrown.constructor);
      assert.equal(error.kind, thrown.kind);
      assert.equal(error.code, thrown.code);
      assert.equal(error.description, thrown.description);
    });
  }

  test('an unexpected error reaches the client as an unexposed internal server_error', async () => {
    const error = expectDomainError(await revoke('unexpected').catch((e: unknown) => e));
    assert.equal(error.kind, 'internal');
    assert.equal(error.code, 'server_error');
    assert.equal(error.expose, false);
    assert.doesNotMatch(error.description, /hunter2/);
  });

  test('an unexpected error is INTERNAL on the wire, with no trace of its message, and is logged', async () => {
    const raw = new tokensV1.TokensClient(started.target, credentials.createInsecure());
    const error = await new Promise<ServiceError | null>((resolve) =>
      raw.revokeByConsent({ consentId: 'unexpected', reason: '' }, (e) => resolve(e)),
    );
    raw.close();
    assert.ok(error);
    assert.equal(error.code, status.INTERNAL);
    assert.doesNotMatch(error.details, /hunter2/);
    assert.deepEqual(error.metadata.get(ERROR_CODE_METADATA_KEY), ['server_error']);
    assert.ok(started.logger.entries.some((entry) => entry.level === 'error'));
  });

  test('an unexposed DomainError of any kind reaches the client as an internal server_error', async () => {
    const error = expectDomainError(await revoke('unexposed-bad-request').catch((e: unknown) => e));
    assert.equal(error.kind, 'internal');
    assert.equal(error.code, 'server_error');
    assert.doesNotMatch(error.description, /rule 42/);
  });
});

describe('toGrpcStatus', () => {
  test('maps a state conflict raised as precondition_failed to FAILED_PRECONDITION', () => {
    assert.equal(toGrpcStatus(new PreconditionFailedError('not authorised')).code, status.FAILED_PRECONDITION);
  });

  test('maps a uniqueness conflict to ALREADY_EXISTS', () => {
    assert.equal(toGrpcStatus(new ConflictError('duplicate software_id')).code, status.ALREADY_EXISTS);
  });

  test('puts the wire code in the obip-error-code trailer', () => {
    const { metadata } = toGrpcStatus(new NotFoundError('gone', { code: 'client_not_found' }));
    assert.deepEqual(metadata.get(ERROR_CODE_METADATA_KEY), ['client_not_found']);
  });
});

describe('fromGrpcError', () => {
  test('treats a deadline exceeded as a dependency that is unavailable, never as not found', () => {
    const error = fromGrpcError(serviceError(status.DEADLINE_EXCEEDED));
    assert.equal(error.kind, 'unavailable');
    assert.equal(error.code, 'temporarily_unavailable');
  });

  test('treats a cancelled call as a dependency that is unavailable', () => {
    assert.equal(fromGrpcError(serviceError(status.CANCELLED)).kind, 'unavailable');
  });

  test('treats a RESOURCE_EXHAUSTED raised by the transport as an internal error, not a rate limit', () => {
    const error = fromGrpcError(serviceError(status.RESOURCE_EXHAUSTED));
    assert.equal(error.kind, 'internal');
    assert.equal(error.code, 'server_error');
  });

  test('treats a RESOURCE_EXHAUSTED sent by our server as too_many_requests', () => {
    const error = fromGrpcError(
      serviceError(status.RESOURCE_EXHAUSTED, { [ERROR_CODE_METADATA_KEY]: 'too_many_requests' }),
    );
    assert.equal(error.kind, 'too_many_requests');
  });

  test('treats UNIMPLEMENTED (a deployment mismatch) as an internal error', () => {
    assert.equal(fromGrpcError(serviceError(status.UNIMPLEMENTED)).kind, 'internal');
  });

  test('passes anything that is not a gRPC error through toDomainError', () => {
    const error = fromGrpcError(new TypeError('bug'));
    assert.equal(error.kind, 'internal');
    assert.equal(error.expose, false);
  });
});
