import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DEFAULT_SCRYPT, hashPassword, verifyPassword } from './customers.password';
import { loadSandboxCustomerDirectory } from './customers.sandbox';
import sandboxCustomers from './sandbox-customers.json' with { type: 'json' };

const FAST = { N: 1024, r: 8, p: 1 };

describe('customer passwords', () => {
  test('a password verifies against its own scrypt hash and no other', async () => {
    const stored = await hashPassword('correct horse', FAST);
    assert.match(stored, /^scrypt\$1024\$8\$1\$/);
    assert.equal(await verifyPassword('correct horse', stored), true);
    assert.equal(await verifyPassword('correct horsE', stored), false);
  });

  test('two hashes of one password differ (random salt)', async () => {
    assert.notEqual(await hashPassword('same', FAST), await hashPassword('same', FAST));
  });

  test('new hashes use an OWASP scrypt setting of at most 16 MiB a check; older settings still verify', async () => {
    // OWASP Password Storage Cheat Sheet: N=2^17, r=8, p=1 or an equivalent (N, r=8, p) pair.
    const owaspEquivalents = [
      [131_072, 1],
      [65_536, 2],
      [32_768, 3],
      [16_384, 5],
      [8_192, 10],
    ];
    assert.ok(
      owaspEquivalents.some(([N, p]) => DEFAULT_SCRYPT.N === N && DEFAULT_SCRYPT.p === p && DEFAULT_SCRYPT.r === 8),
      JSON.stringify(DEFAULT_SCRYPT),
    );
    assert.ok(128 * DEFAULT_SCRYPT.N * DEFAULT_SCRYPT.r <= 16 * 2 ** 20, 'memory of one check');
    assert.match(await hashPassword('new'), /^scrypt\$16384\$8\$5\$/);
    const older = await hashPassword('kept', { N: 2048, r: 8, p: 1 });
    assert.equal(await verifyPassword('kept', older), true);
  });

  test('every bundled sandbox customer is hashed with the current setting (a login costs what an unknown user costs)', () => {
    const setting = `scrypt$${DEFAULT_SCRYPT.N}$${DEFAULT_SCRYPT.r}$${DEFAULT_SCRYPT.p}$`;
    for (const customer of sandboxCustomers.customers)
      assert.ok(customer.passwordHash.startsWith(setting), customer.username);
  });

  test('a malformed stored hash never verifies', async () => {
    for (const stored of ['', 'plain', 'scrypt$x$8$1$c2FsdA$aGFzaA', 'bcrypt$1$2$3$4$5']) {
      assert.equal(await verifyPassword('anything', stored), false, stored);
    }
  });
});

describe('the sandbox customer directory', () => {
  test('verifies a sandbox customer and answers the same for a wrong password and an unknown user', async () => {
    const customers = await loadSandboxCustomerDirectory();
    assert.equal(await customers.verifyCredentials('Amelia.Hart', 'Sandbox-Amelia-1'), 'cust-7f3a9c1e-amelia');
    assert.equal(await customers.verifyCredentials('amelia.hart', 'Sandbox-Rahul-2'), undefined);
    assert.equal(await customers.verifyCredentials('nobody', 'Sandbox-Amelia-1'), undefined);
  });

  test('lists a customer’s accounts and finds an account with its holder', async () => {
    const customers = await loadSandboxCustomerDirectory();
    const accounts = await customers.listAccounts('cust-5c2e6f90-grace');
    assert.deepEqual(
      accounts.map((account) => account.accountId),
      ['acc-40812-current'],
    );
    assert.equal((await customers.findAccount('acc-31756-eur'))?.subject, 'cust-0b81d4a2-rahul');
    assert.deepEqual(await customers.listAccounts('cust-unknown'), []);
    assert.equal(await customers.findAccount('acc-unknown'), undefined);
  });

  test('finds a customer by subject or by username in any case, for a CIBA login hint', async () => {
    const customers = await loadSandboxCustomerDirectory();
    assert.deepEqual(await customers.findCustomer('cust-0b81d4a2-rahul'), { subject: 'cust-0b81d4a2-rahul' });
    assert.deepEqual(await customers.findCustomer(' Rahul.Mehta '), { subject: 'cust-0b81d4a2-rahul' });
    assert.equal(await customers.findCustomer('CUST-0B81D4A2-RAHUL'), undefined, 'a subject is exact');
    assert.equal(await customers.findCustomer('nobody'), undefined);
  });

  test('refuses a data file with a malformed account at start-up', async () => {
    const file = join(mkdtempSync(join(tmpdir(), 'customers-')), 'customers.json');
    writeFileSync(
      file,
      JSON.stringify({
        customers: [
          {
            subject: 's',
            username: 'u',
            name: 'n',
            passwordHash: 'scrypt$1$1$1$a$b',
            accounts: [{ accountId: 'a', currency: 'pounds' }],
          },
        ],
      }),
    );
    await assert.rejects(loadSandboxCustomerDirectory(file));
  });

  test('holds the verified identity of the data plan: Amelia once from her passport, Rahul twice, Grace none', async () => {
    const customers = await loadSandboxCustomerDirectory();
    const amelia = await customers.verifiedIdentity('cust-7f3a9c1e-amelia');
    assert.equal(amelia?.length, 1);
    const [passport] = amelia!;
    assert.equal(passport!.verification.trust_framework, 'uk_tfida');
    assert.equal(passport!.verification.assurance_level, 'medium');
    assert.equal(passport!.verification.time, '2025-06-03T09:41:00Z');
    const evidence = passport!.verification.evidence?.[0];
    assert.equal(evidence?.type, 'document');
    assert.equal(evidence.type === 'document' && evidence.document_details.type, 'passport');
    assert.deepEqual(Object.keys(passport!.claims).sort(), [
      'address',
      'birthdate',
      'family_name',
      'given_name',
      'nationalities',
      'place_of_birth',
    ]);

    const rahul = await customers.verifiedIdentity('cust-0b81d4a2-rahul');
    assert.deepEqual(
      rahul?.map(({ verification, claims }) => [
        verification.trust_framework,
        verification.assurance_level,
        verification.time,
        verification.evidence?.map((item) => item.type),
        Object.keys(claims).sort(),
      ]),
      [
        [
          'uk_tfida',
          'medium',
          '2016-02-11T10:00:00Z',
          ['document'],
          ['address', 'birthdate', 'family_name', 'given_name'],
        ],
        [
          'eidas',
          'substantial',
          '2025-03-18T14:05:00Z',
          ['electronic_record'],
          ['birthdate', 'family_name', 'given_name', 'nationalities'],
        ],
      ],
    );
    const licence = rahul?.[0]?.verification.evidence?.[0];
    assert.equal(licence?.type === 'document' && licence.document_details.type, 'driving_permit');

    assert.deepEqual(await customers.verifiedIdentity('cust-5c2e6f90-grace'), [], 'known, nothing verified');
    assert.equal(await customers.verifiedIdentity('cust-unknown'), undefined, 'unknown customer');
  });

  test('hands out a copy of a verified identity: a caller that filters it cannot change the directory', async () => {
    const customers = await loadSandboxCustomerDirectory();
    const first = await customers.verifiedIdentity('cust-7f3a9c1e-amelia');
    delete first![0]!.claims.birthdate;
    first!.pop();
    const again = await customers.verifiedIdentity('cust-7f3a9c1e-amelia');
    assert.equal(again?.[0]?.claims.birthdate, '1991-04-17');
  });

  describe('refuses at start-up a verified identity that is not OIDC4IDA-shaped, naming the customer', () => {
    const customer = (verifiedIdentity: unknown) => ({
      subject: 'cust-test',
      username: 'test.customer',
      name: 'Test Customer',
      passwordHash: 'scrypt$1$1$1$a$b',
      accounts: [],
      verifiedIdentity,
    });
    const good = {
      verification: {
        trust_framework: 'uk_tfida',
        assurance_level: 'medium',
        time: '2025-01-02T03:04:05Z',
        evidence: [
          {
            type: 'document',
            check_details: [{ check_method: 'vpip' }],
            time: '2025-01-02T03:00:00Z',
            document_details: { type: 'passport', issuer: { name: 'HM Passport Office', country_code: 'GBR' } },
          },
        ],
      },
      claims: { given_name: 'Test' },
    };
    const writeData = (verifiedIdentity: unknown) => {
      const file = join(mkdtempSync(join(tmpdir(), 'customers-')), 'customers.json');
      writeFileSync(file, JSON.stringify({ customers: [customer(verifiedIdentity)] }));
      return file;
    };

    test('a well-formed verification loads', async () => {
      const customers = await loadSandboxCustomerDirectory(writeData([good]));
      assert.deepEqual(await customers.verifiedIdentity('cust-test'), [good]);
    });

    const malformed: Array<[string, unknown, RegExp]> = [
      [
        'a verification time that is not an ISO 8601 date-time',
        { ...good, verification: { ...good.verification, time: '2 January 2025' } },
        /verifiedIdentity\.0\.verification\.time/,
      ],
      [
        'no trust framework',
        { ...good, verification: { ...good.verification, trust_framework: '' } },
        /verification\.trust_framework/,
      ],
      [
        'an evidence type the schema does not define',
        { ...good, verification: { ...good.verification, evidence: [{ type: 'id_document' }] } },
        /verification\.evidence\.0/,
      ],
      [
        'a document without its document_details',
        { ...good, verification: { ...good.verification, evidence: [{ type: 'document' }] } },
        /evidence\.0\.document_details/,
      ],
      [
        'an issuer country that is not an ICAO code',
        {
          ...good,
          verification: {
            ...good.verification,
            evidence: [
              { type: 'document', document_details: { type: 'passport', issuer: { name: 'x', country: 'GB' } } },
            ],
          },
        },
        /document_details\.issuer/,
      ],
      ['a misspelt claim', { ...good, claims: { givenname: 'Test' } }, /claims/],
      ['no claims at all', { ...good, claims: {} }, /claims/],
      ['a birthdate that is not a date', { ...good, claims: { birthdate: '1991-02-30' } }, /claims\.birthdate/],
    ];
    for (const [why, element, field] of malformed) {
      test(why, async () => {
        await assert.rejects(loadSandboxCustomerDirectory(writeData([element])), (error: Error) => {
          assert.match(error.message, /customer "test\.customer"/);
          assert.match(error.message, field);
          return true;
        });
      });
    }
  });
});
