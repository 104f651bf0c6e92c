// The contract every ConsentRepository implementation must pass (STYLE habit 7), run against
// real servers by each adapter's test file.
import { randomUUID } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { ConflictError } from '@obip/errors';
import type { NewConsent } from './consents.model';
import type { ConsentRepository } from './consents.repository';

export function newConsentFor(overrides: Partial<NewConsent> = {}): NewConsent {
  const createdAt = new Date('2026-03-01T10:00:00.000Z');
  return {
    id: `aac-${randomUUID()}`,
    kind: 'account-access',
    clientId: 'client-a',
    permissions: ['ReadAccountsBasic'],
    accountIds: [],
    scopes: [],
    request: { Permissions: ['ReadAccountsBasic'] },
    risk: {},
    createdAt,
    expiresAt: undefined,
    authorisationDeadline: new Date(createdAt.getTime() + 1_800_000),
    ...overrides,
  };
}

export function describeConsentRepositoryContract(
  name: string,
  setUp: () => Promise<{ repository: ConsentRepository; tearDown(): Promise<void> }>,
): void {
  describe(`ConsentRepository contract: ${name}`, () => {
    let repository: ConsentRepository;
    let tearDown: () => Promise<void>;
    before(async () => {
      ({ repository, tearDown } = await setUp());
    });
    after(() => tearDown());

    test('stores a new consent awaiting authorisation with its creation in the history', async () => {
      const stored = await repository.insert(newConsentFor({ risk: {} }), undefined);
      const found = await repository.findById(stored.id);
      assert.ok(found);
      assert.equal(found.status, 'AwaitingAuthorisation');
      assert.equal(found.revision, 0);
      assert.deepEqual(found.risk, {}, 'an empty Risk block is kept');
      assert.deepEqual(
        found.history.map((entry) => [entry.from, entry.to]),
        [[null, 'AwaitingAuthorisation']],
      );
      assert.deepEqual(found, stored);
    });

    // Found by API fuzzing: such a Risk block made consent-service answer 500.
    test('keeps a request and Risk block as the TPP sent them, whatever their member names and nesting', async () => {
      const risk = { $where: 1, 'a.b': { '': [[1, [2]], [], {}] }, PaymentContextCode: 'EcommerceGoods' };
      const request = { Permissions: ['ReadAccountsBasic'], SupplementaryData: { $ref: 'x', 'k.v': [[null]] } };
      const stored = await repository.insert(newConsentFor({ risk, request }), undefined);
      const found = await repository.findById(stored.id);
      assert.deepEqual(found?.risk, risk);
      assert.deepEqual(found?.request, request);
    });

    test('stores a consent already authorised by its creation, with that decision as its only history', async () => {
      const createdAt = new Date('2026-03-01T10:00:00.000Z');
      const subject = `cust-${randomUUID()}`;
      const entry = {
        from: null,
        to: 'Authorised' as const,
        at: createdAt,
        actor: 'auth-server',
        reason: 'approved by the customer',
      };
      const stored = await repository.insert(
        newConsentFor({
          id: `gc-${randomUUID()}`,
          kind: 'generic',
          permissions: [],
          accountIds: ['acc-1'],
          scopes: ['openid', 'accounts'],
          request: { authorization_details: [] },
          createdAt,
        }),
        undefined,
        { subject, entry, identityRelease: [{ trustFramework: 'uk_tfida', claims: ['given_name', 'birthdate'] }] },
      );
      const found = await repository.findById(stored.id);
      assert.ok(found);
      assert.equal(found.status, 'Authorised');
      assert.equal(found.subject, subject);
      assert.deepEqual(found.accountIds, ['acc-1']);
      assert.deepEqual(found.identityRelease, [{ trustFramework: 'uk_tfida', claims: ['given_name', 'birthdate'] }]);
      assert.deepEqual(found.scopes, ['openid', 'accounts']);
      assert.deepEqual(found.statusUpdatedAt, createdAt);
      assert.equal(found.revision, 0);
      assert.deepEqual(found.history, [entry]);
      assert.deepEqual(found, stored);
      assert.deepEqual(
        (await repository.list({ owner: { subject }, status: 'Authorised', limit: 100 })).map((consent) => consent.id),
        [stored.id],
        'listed under its customer',
      );
    });

    test('refuses a second consent with the same id as a ConflictError', async () => {
      const consent = newConsentFor();
      await repository.insert(consent, undefined);
      await assert.rejects(repository.insert(consent, undefined), ConflictError);
    });

    test('finds nothing for an unknown id', async () => {
      assert.equal(await repository.findById('aac-unknown'), undefined);
    });

    test('applies a transition while the status matches, appending who, when and why', async () => {
      const { id } = await repository.insert(newConsentFor(), undefined);
      const at = new Date('2026-03-01T10:05:00.000Z');
      const updated = await repository.transition({
        consentId: id,
        from: 'AwaitingAuthorisation',
        to: 'Authorised',
        entry: { from: 'AwaitingAuthorisation', to: 'Authorised', at, actor: 'auth-server', reason: 'approved' },
        expiryDueAt: undefined,
        subject: 'cust-1',
        accountIds: ['acc-1'],
        identityRelease: [{ trustFramework: 'eidas', claims: ['family_name'] }],
      });
      assert.ok(updated);
      assert.equal(updated.status, 'Authorised');
      assert.equal(updated.subject, 'cust-1');
      assert.deepEqual(updated.accountIds, ['acc-1']);
      assert.deepEqual(updated.identityRelease, [{ trustFramework: 'eidas', claims: ['family_name'] }]);
      assert.deepEqual(updated.statusUpdatedAt, at);
      assert.equal(updated.revision, 1);
      assert.deepEqual(updated.history.at(-1), {
        from: 'AwaitingAuthorisation',
        to: 'Authorised',
        at,
        actor: 'auth-server',
        reason: 'approved',
      });
      assert.deepEqual(await repository.findById(id), updated);
    });

    test('applies nothing when the status no longer matches', async () => {
      const { id } = await repository.insert(newConsentFor(), undefined);
      const before = await repository.findById(id);
      const result = await repository.transition({
        consentId: id,
        from: 'Authorised',
        to: 'Revoked',
        entry: { from: 'Authorised', to: 'Revoked', at: new Date(), actor: 'x', reason: '' },
        expiryDueAt: undefined,
      });
      assert.equal(result, undefined);
      assert.deepEqual(await repository.findById(id), before);
    });

    test('writes the token cascade in the same update as the transition', async () => {
      const { id } = await repository.insert(newConsentFor(), undefined);
      const at = new Date('2026-03-01T10:05:00.000Z');
      await repository.transition({
        consentId: id,
        from: 'AwaitingAuthorisation',
        to: 'Authorised',
        entry: { from: 'AwaitingAuthorisation', to: 'Authorised', at, actor: 'a', reason: '' },
        expiryDueAt: undefined,
      });
      const cascade = {
        state: 'pending' as const,
        reason: 'consent_revoked',
        attempts: 0,
        nextAttemptAt: at,
        lastError: '',
        deliveredAt: null,
      };
      const revoked = await repository.transition({
        consentId: id,
        from: 'Authorised',
        to: 'Revoked',
        entry: { from: 'Authorised', to: 'Revoked', at, actor: 'customer:cust-1', reason: 'no longer wanted' },
        expiryDueAt: undefined,
        cascade,
      });
      assert.deepEqual(revoked?.cascade, cascade);
    });

    test('lists one owner’s consents newest first, page by page, filtered by status', async () => {
      const clientId = `client-${randomUUID()}`;
      const ids: string[] = [];
      for (let minute = 0; minute < 5; minute += 1) {
        const createdAt = new Date(Date.UTC(2026, 2, 1, 10, minute));
        ids.push((await repository.insert(newConsentFor({ clientId, createdAt }), undefined)).id);
      }
      await repository.insert(newConsentFor({ clientId: 'someone-else' }), undefined);
      const first = await repository.list({ owner: { clientId }, limit: 2 });
      assert.deepEqual(
        first.map((consent) => consent.id),
        [ids[4], ids[3]],
      );
      const last = first.at(-1)!;
      const second = await repository.list({
        owner: { clientId },
        limit: 10,
        after: { createdAt: last.createdAt, id: last.id },
      });
      assert.deepEqual(
        second.map((consent) => consent.id),
        [ids[2], ids[1], ids[0]],
      );
      assert.deepEqual(await repository.list({ owner: { clientId }, status: 'Authorised', limit: 10 }), []);
    });

    test('finds the consents whose expiry is due', async () => {
      const due = await repository.insert(newConsentFor(), new Date('2020-01-01T00:00:00Z'));
      const later = await repository.insert(newConsentFor(), new Date('2999-01-01T00:00:00Z'));
      const found = (await repository.findExpiryDue(new Date('2026-01-01T00:00:00Z'), 1000)).map(
        (consent) => consent.id,
      );
      assert.ok(found.includes(due.id));
      assert.ok(!found.includes(later.id));
    });

    test('lets exactly one of many racing callers claim a consumption', async () => {
      const consentId = `pdc-${randomUUID()}`;
      const results = await Promise.all(
        Array.from({ length: 8 }, (_, i) => repository.claimConsumption(consentId, `caller-${i}`, new Date())),
      );
      assert.equal(results.filter(Boolean).length, 1);
    });

    test('reserves an idempotency key once per client and hands back the holder afterwards', async () => {
      const key = `key-${randomUUID()}`.slice(0, 40);
      const record = {
        clientId: 'client-a',
        key,
        bodyHash: 'h1',
        consentId: 'pdc-1',
        createdAt: new Date('2026-03-01T10:00:00Z'),
      };
      assert.deepEqual(await repository.reserveIdempotencyKey(record), { reserved: true });
      assert.deepEqual(await repository.reserveIdempotencyKey({ ...record, bodyHash: 'h2', consentId: 'pdc-2' }), {
        reserved: false,
        existing: record,
      });
      assert.deepEqual(await repository.reserveIdempotencyKey({ ...record, clientId: 'client-b' }), { reserved: true });
    });

    test('hands an idempotency key on only from the holder it names', async () => {
      const key = `key-${randomUUID()}`.slice(0, 40);
      const expired = {
        clientId: 'client-a',
        key,
        bodyHash: 'h1',
        consentId: `pdc-${randomUUID()}`,
        createdAt: new Date('2026-03-01T10:00:00Z'),
      };
      await repository.reserveIdempotencyKey(expired);
      const successor = {
        ...expired,
        bodyHash: 'h2',
        consentId: `pdc-${randomUUID()}`,
        createdAt: new Date('2026-03-02T10:00:01Z'),
      };
      assert.equal(await repository.replaceIdempotencyKey(expired, successor), true);
      assert.equal(
        await repository.replaceIdempotencyKey(expired, { ...successor, consentId: `pdc-${randomUUID()}` }),
        false,
        'a holder that has been replaced no longer matches',
      );
      assert.deepEqual(await repository.reserveIdempotencyKey({ ...expired, consentId: 'pdc-x' }), {
        reserved: false,
        existing: successor,
      });
      const unknown = { ...expired, key: `key-${randomUUID()}`.slice(0, 40) };
      assert.equal(await repository.replaceIdempotencyKey(unknown, successor), false, 'nothing to replace');
      assert.deepEqual(await repository.reserveIdempotencyKey(unknown), { reserved: true }, 'and nothing created');
    });

    test('removes the idempotency keys reserved at or before a cutoff', async () => {
      const record = (key: string, createdAt: string) => ({
        clientId: 'client-purge',
        key,
        bodyHash: 'h',
        consentId: `pdc-${randomUUID()}`,
        createdAt: new Date(createdAt),
      });
      const old = record(`old-${randomUUID()}`.slice(0, 40), '2020-01-01T00:00:00Z');
      const atCutoff = record(`cut-${randomUUID()}`.slice(0, 40), '2020-06-01T00:00:00Z');
      const recent = record(`new-${randomUUID()}`.slice(0, 40), '2999-01-01T00:00:00Z');
      for (const reservation of [old, atCutoff, recent]) await repository.reserveIdempotencyKey(reservation);
      assert.ok((await repository.purgeIdempotencyKeys(new Date('2020-06-01T00:00:00Z'))) >= 2);
      assert.deepEqual(await repository.reserveIdempotencyKey(old), { reserved: true }, 'removed');
      assert.deepEqual(await repository.reserveIdempotencyKey(atCutoff), { reserved: true }, 'removed');
      assert.deepEqual(await repository.reserveIdempotencyKey({ ...recent, consentId: 'pdc-y' }), {
        reserved: false,
        existing: recent,
      });
    });
  });
}
