import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { describe, test } from 'node:test';
import { calculateJwkThumbprint, exportJWK, generateKeyPair, SignJWT, type CryptoKey, type JWK } from 'jose';
import {
  accessTokenHash,
  accountView,
  BankApiError,
  certificateThumbprintOf,
  checkAccountSelected,
  checkSenderConstraint,
  checkSubmissionMatchesConsent,
  createDpopReplayCache,
  formatAmount,
  grantedPermissions,
  isCallPermitted,
  isIdempotencyKey,
  isSameInitiation,
  matchRoute,
  parseAmount,
  parseAuthorization,
  parsePaymentSubmission,
  sandboxHistory,
  SANDBOX_HISTORY_ENDS_AT,
  transactionViews,
  verifyDpopProof,
  type BankAccount,
  type BankConsent,
  type LedgerTransaction,
} from './bank-api.rules';

/** Asserts that `run` is refused with this status and stable code. */
async function refuses(run: () => unknown, status: number, code: string) {
  await assert.rejects(
    async () => run(),
    (error: unknown) => {
      assert.ok(error instanceof BankApiError, `a BankApiError, got ${String(error)}`);
      assert.equal(error.code, code);
      assert.equal(error.status, status);
      return true;
    },
  );
}

describe('routes', () => {
  test('an unknown path is 404 and a known path with another method 405 naming the allowed ones', () => {
    assert.deepEqual(matchRoute('GET', '/open-banking/v3.1/aisp/balances'), { status: 404 });
    assert.deepEqual(matchRoute('GET', '/open-banking/v3.1/aisp/accounts/'), { status: 404 });
    assert.deepEqual(matchRoute('DELETE', '/open-banking/v3.1/pisp/domestic-payments'), {
      status: 405,
      allow: ['POST'],
    });
  });

  test('names the endpoint and decodes its id', () => {
    assert.deepEqual(matchRoute('GET', '/open-banking/v3.1/aisp/accounts'), { route: 'listAccounts', id: undefined });
    assert.deepEqual(matchRoute('GET', '/open-banking/v3.1/aisp/accounts/acc%2D1/transactions'), {
      route: 'getTransactions',
      id: 'acc-1',
    });
    assert.deepEqual(matchRoute('GET', '/open-banking/v3.1/pisp/domestic-payments/p-1'), {
      route: 'getPayment',
      id: 'p-1',
    });
    assert.deepEqual(matchRoute('GET', '/open-banking/v3.1/aisp/accounts/%E0%A4%A'), { status: 404 }, 'bad escapes');
  });
});

describe('the presented token', () => {
  test('reads Bearer and DPoP credentials, scheme case-insensitively', () => {
    assert.deepEqual(parseAuthorization('Bearer abc.DEF-_~+/='), { scheme: 'Bearer', token: 'abc.DEF-_~+/=' });
    assert.deepEqual(parseAuthorization('dpop abc'), { scheme: 'DPoP', token: 'abc' });
  });

  test('refuses missing and malformed credentials with invalid_token', async () => {
    await refuses(() => parseAuthorization(undefined), 401, 'token_missing');
    await refuses(() => parseAuthorization('Basic dXNlcjpwYXNz'), 401, 'authorization_malformed');
    await refuses(() => parseAuthorization('Bearer two tokens'), 401, 'authorization_malformed');
    await refuses(() => parseAuthorization(`Bearer ${'a'.repeat(5000)}`), 401, 'authorization_malformed');
    assert.throws(
      () => parseAuthorization(undefined),
      (error: BankApiError) => error.challenge === 'invalid_token',
    );
  });

  const certificateBound = { tokenType: 'Bearer', certificateThumbprint: 'cert-1', jkt: '' };
  const dpopBound = { tokenType: 'DPoP', certificateThumbprint: '', jkt: 'key-1' };

  test('accepts a certificate-bound token over its certificate and a DPoP token with a proof of its key', () => {
    checkSenderConstraint(certificateBound, { scheme: 'Bearer', certificateThumbprint: 'cert-1' });
    checkSenderConstraint(dpopBound, { scheme: 'DPoP', dpopJkt: 'key-1' });
  });

  test('refuses a token that is not sender-constrained (FAPI)', async () => {
    await refuses(
      () =>
        checkSenderConstraint(
          { tokenType: 'Bearer', certificateThumbprint: '', jkt: '' },
          { scheme: 'Bearer', certificateThumbprint: 'cert-1' },
        ),
      401,
      'token_not_sender_constrained',
    );
  });

  test('refuses a certificate-bound token over another certificate or none', async () => {
    await refuses(
      () => checkSenderConstraint(certificateBound, { scheme: 'Bearer', certificateThumbprint: 'cert-2' }),
      401,
      'certificate_mismatch',
    );
    await refuses(() => checkSenderConstraint(certificateBound, { scheme: 'Bearer' }), 401, 'certificate_mismatch');
  });

  test('refuses a DPoP token with a proof of another key, and either token under the other scheme', async () => {
    await refuses(
      () => checkSenderConstraint(dpopBound, { scheme: 'DPoP', dpopJkt: 'key-2' }),
      401,
      'dpop_key_mismatch',
    );
    await refuses(
      () => checkSenderConstraint(dpopBound, { scheme: 'Bearer', dpopJkt: 'key-1' }),
      401,
      'token_scheme_mismatch',
    );
    await refuses(
      () =>
        checkSenderConstraint(certificateBound, { scheme: 'DPoP', certificateThumbprint: 'cert-1', dpopJkt: 'key-1' }),
      401,
      'token_scheme_mismatch',
    );
  });

  test('a certificate thumbprint is the base64url SHA-256 of the DER (RFC 8705 §3.1)', () => {
    // SHA-256 of the empty input, base64url.
    assert.equal(certificateThumbprintOf(new Uint8Array()), '47DEQpj8HBSa-_TImW-5JCeuQeRkm5NMpJWZG3hSuFU');
  });
});

describe('DPoP proofs (RFC 9449 §4.3)', () => {
  const NOW = 1_750_000_000;
  const HTU = 'https://127.0.0.1:8444/open-banking/v3.1/aisp/accounts';
  const TOKEN = 'access-token-1';
  const expected = { method: 'GET', htu: HTU, accessToken: TOKEN };

  async function keyPair(alg: 'ES256' | 'PS256' = 'ES256') {
    return generateKeyPair(alg, { extractable: true });
  }

  async function proofOf(
    keys: { publicKey: CryptoKey; privateKey: CryptoKey },
    claims: Record<string, unknown> = {},
    header: Record<string, unknown> = {},
    alg: 'ES256' | 'PS256' = 'ES256',
  ): Promise<string> {
    const jwk = await exportJWK(keys.publicKey);
    return new SignJWT({ jti: randomUUID(), htm: 'GET', htu: HTU, iat: NOW, ath: accessTokenHash(TOKEN), ...claims })
      .setProtectedHeader({ alg, typ: 'dpop+jwt', jwk, ...header })
      .sign(keys.privateKey);
  }

  const verify = (proof: string | undefined, replay = createDpopReplayCache(), now = NOW) =>
    verifyDpopProof(proof, expected, { now, replay });

  test('accepts an ES256 or PS256 proof of this request and returns its key thumbprint', async () => {
    for (const alg of ['ES256', 'PS256'] as const) {
      const keys = await keyPair(alg);
      const jkt = await verify(await proofOf(keys, {}, {}, alg));
      assert.equal(jkt, await calculateJwkThumbprint(await exportJWK(keys.publicKey)));
    }
  });

  test('ignores the query of htu and the case of its scheme and host', async () => {
    const keys = await keyPair();
    await verify(await proofOf(keys, { htu: 'HTTPS://127.0.0.1:8444/open-banking/v3.1/aisp/accounts?page=2' }));
  });

  test('refuses a request without a proof', async () => {
    await refuses(() => verify(undefined), 401, 'dpop_proof_missing');
    await refuses(() => verify('not-a-jwt'), 401, 'dpop_proof_malformed');
  });

  test('refuses a proof for another URL, another method, or another token', async () => {
    const keys = await keyPair();
    await refuses(async () => verify(await proofOf(keys, { htu: `${HTU}/acc-1` })), 401, 'dpop_proof_htu');
    await refuses(
      async () => verify(await proofOf(keys, { htu: 'https://127.0.0.1:9443/open-banking/v3.1/aisp/accounts' })),
      401,
      'dpop_proof_htu',
    );
    await refuses(async () => verify(await proofOf(keys, { htm: 'POST' })), 401, 'dpop_proof_htm');
    await refuses(
      async () => verify(await proofOf(keys, { ath: accessTokenHash('another-token') })),
      401,
      'dpop_proof_ath',
    );
    await refuses(async () => verify(await proofOf(keys, { ath: undefined })), 401, 'dpop_proof_ath');
  });

  test('refuses a proof issued more than 60 seconds away from now, either way', async () => {
    const keys = await keyPair();
    await verify(await proofOf(keys, { iat: NOW - 60 }));
    await refuses(async () => verify(await proofOf(keys, { iat: NOW - 61 })), 401, 'dpop_proof_iat');
    await refuses(async () => verify(await proofOf(keys, { iat: NOW + 61 })), 401, 'dpop_proof_iat');
  });

  test('refuses a replayed jti, but not the same jti under another key', async () => {
    const replay = createDpopReplayCache();
    const keys = await keyPair();
    const proof = await proofOf(keys, { jti: 'jti-1' });
    await verify(proof, replay);
    await refuses(() => verify(proof, replay), 401, 'dpop_proof_replayed');
    await verify(await proofOf(await keyPair(), { jti: 'jti-1' }), replay);
  });

  test('a refused proof does not use up its jti', async () => {
    const replay = createDpopReplayCache();
    const keys = await keyPair();
    await refuses(
      async () => verify(await proofOf(keys, { jti: 'jti-2', htm: 'POST' }), replay),
      401,
      'dpop_proof_htm',
    );
    await verify(await proofOf(keys, { jti: 'jti-2' }), replay);
  });

  test('refuses alg none and a MAC (HS256)', async () => {
    const jwk = await exportJWK((await keyPair()).publicKey);
    const part = (value: object) => Buffer.from(JSON.stringify(value)).toString('base64url');
    const payload = { jti: randomUUID(), htm: 'GET', htu: HTU, iat: NOW, ath: accessTokenHash(TOKEN) };
    await refuses(
      () => verify(`${part({ alg: 'none', typ: 'dpop+jwt', jwk })}.${part(payload)}.`),
      401,
      'dpop_proof_alg',
    );
    const hs256 = await new SignJWT(payload)
      .setProtectedHeader({ alg: 'HS256', typ: 'dpop+jwt', jwk })
      .sign(new TextEncoder().encode('a shared secret of at least 32 bytes!'));
    await refuses(() => verify(hs256), 401, 'dpop_proof_alg');
  });

  test('refuses a private key in the jwk header', async () => {
    const keys = await keyPair();
    const privateJwk: JWK = await exportJWK(keys.privateKey);
    assert.ok(privateJwk.d);
    await refuses(async () => verify(await proofOf(keys, {}, { jwk: privateJwk })), 401, 'dpop_proof_private_key');
  });

  test('refuses another typ, a missing jwk, and a signature by another key than the jwk header names', async () => {
    const keys = await keyPair();
    await refuses(async () => verify(await proofOf(keys, {}, { typ: 'JWT' })), 401, 'dpop_proof_typ');
    await refuses(async () => verify(await proofOf(keys, {}, { jwk: undefined })), 401, 'dpop_proof_jwk');
    const other = await exportJWK((await keyPair()).publicKey);
    await refuses(async () => verify(await proofOf(keys, {}, { jwk: other })), 401, 'dpop_proof_signature');
  });

  test('the replay cache forgets a jti once it expires and stays within its bound', () => {
    const replay = createDpopReplayCache(2);
    assert.equal(replay.remember('a', 100, 10), true);
    assert.equal(replay.remember('a', 100, 50), false);
    assert.equal(replay.remember('a', 200, 100), true, 'expired at 100');
    assert.equal(replay.remember('b', 300, 100), true);
    assert.equal(replay.remember('c', 300, 100), true, 'the oldest made room');
    assert.equal(replay.remember('c', 300, 150), false);
    assert.equal(replay.remember('a', 300, 150), true, 'a was evicted');
  });
});

describe('what a consent grants', () => {
  const consent = (overrides: Partial<BankConsent>): BankConsent => ({
    consentId: 'c-1',
    clientId: 'client-1',
    kind: 'account-access',
    status: 'Authorised',
    subject: 'cust-1',
    permissions: [],
    accountIds: ['acc-1'],
    details: undefined,
    ...overrides,
  });

  test('an account-access consent grants its own permissions; a payment consent none', () => {
    assert.deepEqual(grantedPermissions(consent({ permissions: ['ReadAccountsDetail', 'ReadBalances'] })), [
      'ReadAccountsDetail',
      'ReadBalances',
    ]);
    assert.deepEqual(grantedPermissions(consent({ kind: 'domestic-payment', permissions: ['ReadBalances'] })), []);
  });

  test('a generic consent grants what its account_information details name, no more', () => {
    const details = [
      { type: 'account_information', actions: ['list_accounts', 'read_balances'] },
      { type: 'payment_initiation', actions: ['initiate'] },
    ];
    assert.deepEqual(grantedPermissions(consent({ kind: 'generic', details })), ['ReadAccountsBasic', 'ReadBalances']);
    assert.deepEqual(grantedPermissions(consent({ kind: 'generic', details: undefined })), []);
    assert.deepEqual(
      grantedPermissions(
        consent({ kind: 'generic', details: [{ type: 'account_information', actions: ['read_transactions'] }] }),
      ),
      ['ReadTransactionsBasic', 'ReadTransactionsCredits', 'ReadTransactionsDebits'],
    );
  });

  test('accounts need ReadAccountsBasic or Detail, balances ReadBalances, transactions a transactions permission', () => {
    assert.equal(isCallPermitted('accounts', ['ReadAccountsBasic']), true);
    assert.equal(isCallPermitted('accounts', ['ReadAccountsDetail']), true);
    assert.equal(isCallPermitted('accounts', ['ReadBalances']), false);
    assert.equal(isCallPermitted('balances', ['ReadBalances']), true);
    assert.equal(isCallPermitted('balances', ['ReadAccountsDetail']), false);
    for (const permission of [
      'ReadTransactionsBasic',
      'ReadTransactionsDetail',
      'ReadTransactionsCredits',
      'ReadTransactionsDebits',
    ]) {
      assert.equal(isCallPermitted('transactions', [permission]), true, permission);
    }
    assert.equal(isCallPermitted('transactions', ['ReadAccountsDetail', 'ReadBalances']), false);
  });

  test('an account the customer did not select is refused with 403', async () => {
    checkAccountSelected(consent({}), 'acc-1');
    await refuses(() => checkAccountSelected(consent({}), 'acc-2'), 403, 'account_not_selected');
  });
});

describe('OBIE account payloads', () => {
  const account: BankAccount = {
    accountId: 'acc-1',
    nickname: 'Everyday',
    currency: 'GBP',
    accountType: 'Personal',
    accountSubType: 'CurrentAccount',
    schemeName: 'UK.OBIE.SortCodeAccountNumber',
    identification: '99010231845927',
  };

  test('ReadAccountsDetail adds the identification block that Basic leaves out', () => {
    assert.equal('Account' in accountView(account, ['ReadAccountsBasic']), false);
    assert.deepEqual(accountView(account, ['ReadAccountsDetail']).Account, [
      { SchemeName: 'UK.OBIE.SortCodeAccountNumber', Identification: '99010231845927', Name: 'Everyday' },
    ]);
  });

  const entry = (id: string, creditDebit: 'Credit' | 'Debit', hour: number): LedgerTransaction => ({
    transactionId: id,
    accountId: 'acc-1',
    amount: 1234n,
    creditDebit,
    bookedAt: new Date(Date.UTC(2025, 0, 1, hour)),
    reference: 'R',
    information: 'Card payment',
  });
  const ledger = [entry('t1', 'Debit', 1), entry('t2', 'Credit', 3), entry('t3', 'Debit', 2)];

  test('transactions come newest first; Detail adds TransactionInformation', () => {
    const basic = transactionViews(
      ledger,
      ['ReadTransactionsBasic', 'ReadTransactionsCredits', 'ReadTransactionsDebits'],
      'GBP',
    );
    assert.deepEqual(
      basic.map((view) => view.TransactionId),
      ['t2', 't3', 't1'],
    );
    assert.equal('TransactionInformation' in basic[0]!, false);
    assert.deepEqual(basic[0]!.Amount, { Amount: '12.34', Currency: 'GBP' });
    const detail = transactionViews(
      ledger,
      ['ReadTransactionsDetail', 'ReadTransactionsDebits', 'ReadTransactionsCredits'],
      'GBP',
    );
    assert.equal((detail[0] as { TransactionInformation?: string }).TransactionInformation, 'Card payment');
  });

  test('ReadTransactionsCredits alone shows credits only, Debits alone debits only', () => {
    const credits = transactionViews(ledger, ['ReadTransactionsBasic', 'ReadTransactionsCredits'], 'GBP');
    assert.deepEqual(
      credits.map((view) => view.TransactionId),
      ['t2'],
    );
    const debits = transactionViews(ledger, ['ReadTransactionsBasic', 'ReadTransactionsDebits'], 'GBP');
    assert.deepEqual(
      debits.map((view) => view.TransactionId),
      ['t3', 't1'],
    );
  });
});

describe('the sandbox ledger', () => {
  test('is derived from the account id alone: the same on every start', () => {
    // Pinned: a history that depended on the clock or on randomness would not give these.
    const history = sandboxHistory('acc-22289-current');
    assert.equal(formatAmount(history.balance), PINNED.balance);
    assert.equal(history.transactions[0]!.transactionId, PINNED.firstTransactionId);
    assert.deepEqual(sandboxHistory('acc-22289-current'), history);
  });

  test('differs between accounts and stays in range', () => {
    const one = sandboxHistory('acc-1');
    const two = sandboxHistory('acc-2');
    assert.notEqual(one.balance, two.balance);
    for (const [accountId, history] of [
      ['acc-1', one],
      ['acc-2', two],
    ] as const) {
      assert.ok(history.balance >= 100_000n && history.balance < 500_000n);
      assert.equal(history.transactions.length, 12);
      assert.equal(new Set(history.transactions.map((entry) => entry.transactionId)).size, 12);
      for (const transaction of history.transactions) {
        assert.ok(transaction.amount > 0n);
        assert.ok(transaction.bookedAt.getTime() <= SANDBOX_HISTORY_ENDS_AT);
        assert.equal(transaction.accountId, accountId);
      }
    }
  });

  test('amounts are exact minor units', () => {
    assert.equal(parseAmount('10'), 1000n);
    assert.equal(parseAmount('10.5'), 1050n);
    assert.equal(parseAmount('0.01'), 1n);
    assert.equal(parseAmount('1.001'), undefined);
    assert.equal(parseAmount('-1.00'), undefined);
    assert.equal(parseAmount(10), undefined);
    assert.equal(formatAmount(123_456n), '1234.56');
    assert.equal(formatAmount(-5n), '-0.05');
  });
});

describe('domestic payments', () => {
  const initiation = {
    InstructionIdentification: 'ACME412',
    EndToEndIdentification: 'FRESCO.21302.GFX.20',
    InstructedAmount: { Amount: '25.00', Currency: 'GBP' },
    CreditorAccount: {
      SchemeName: 'UK.OBIE.SortCodeAccountNumber',
      Identification: '08080021325698',
      Name: 'ACME Inc',
    },
  };
  const paymentConsent: BankConsent = {
    consentId: 'pc-1',
    clientId: 'client-1',
    kind: 'domestic-payment',
    status: 'Authorised',
    subject: 'cust-1',
    permissions: [],
    accountIds: ['acc-1'],
    details: initiation,
  };

  test('the Initiation must equal the authorised one, key order aside', () => {
    const reordered = {
      CreditorAccount: {
        Name: 'ACME Inc',
        Identification: '08080021325698',
        SchemeName: 'UK.OBIE.SortCodeAccountNumber',
      },
      InstructedAmount: { Currency: 'GBP', Amount: '25.00' },
      EndToEndIdentification: 'FRESCO.21302.GFX.20',
      InstructionIdentification: 'ACME412',
    };
    assert.equal(isSameInitiation(reordered, initiation), true);
    assert.equal(
      isSameInitiation({ ...initiation, InstructedAmount: { Amount: '25.01', Currency: 'GBP' } }, initiation),
      false,
    );
    assert.equal(isSameInitiation({ ...initiation, RemittanceInformation: { Reference: 'x' } }, initiation), false);
    assert.equal(
      isSameInitiation({ ...initiation, InstructedAmount: { Amount: '25', Currency: 'GBP' } }, initiation),
      false,
    );
    assert.equal(isSameInitiation(initiation, undefined), false);
  });

  test('a submission needs Data.ConsentId, Data.Initiation and Risk', async () => {
    assert.deepEqual(parsePaymentSubmission({ Data: { ConsentId: 'pc-1', Initiation: initiation }, Risk: {} }), {
      consentId: 'pc-1',
      initiation,
    });
    await refuses(() => parsePaymentSubmission([]), 400, 'body_invalid');
    assert.throws(
      () => parsePaymentSubmission({ Data: { Initiation: 'x' } }),
      (error: BankApiError) =>
        error.status === 400 &&
        error.items.map((item) => `${item.ErrorCode} ${item.Path}`).join('|') ===
          'UK.OBIE.Field.Missing Data.ConsentId|UK.OBIE.Field.Invalid Data.Initiation|UK.OBIE.Field.Missing Risk',
    );
  });

  test('the submission must name the token’s consent and its Initiation (400 ConsentMismatch)', async () => {
    checkSubmissionMatchesConsent({ consentId: 'pc-1', initiation }, paymentConsent);
    await refuses(
      () => checkSubmissionMatchesConsent({ consentId: 'pc-2', initiation }, paymentConsent),
      400,
      'consent_mismatch',
    );
    await refuses(
      () =>
        checkSubmissionMatchesConsent(
          {
            consentId: 'pc-1',
            initiation: { ...initiation, InstructedAmount: { Amount: '2500.00', Currency: 'GBP' } },
          },
          paymentConsent,
        ),
      400,
      'initiation_mismatch',
    );
    assert.throws(
      () => checkSubmissionMatchesConsent({ consentId: 'pc-2', initiation }, paymentConsent),
      (error: BankApiError) => error.items[0]!.ErrorCode === 'UK.OBIE.Resource.ConsentMismatch',
    );
  });

  test('an account-access consent cannot pay (403)', async () => {
    await refuses(
      () =>
        checkSubmissionMatchesConsent({ consentId: 'pc-1', initiation }, { ...paymentConsent, kind: 'account-access' }),
      403,
      'consent_kind_mismatch',
    );
  });

  test('x-idempotency-key is 1 to 40 visible ASCII characters', () => {
    assert.equal(isIdempotencyKey('a'.repeat(40)), true);
    assert.equal(isIdempotencyKey('a'.repeat(41)), false);
    assert.equal(isIdempotencyKey(''), false);
    assert.equal(isIdempotencyKey('has space'), false);
    assert.equal(isIdempotencyKey(undefined), false);
  });
});

const PINNED = { balance: '1004.09', firstTransactionId: 'sbx-10b368eec7c019b41a3ca9ef' };
