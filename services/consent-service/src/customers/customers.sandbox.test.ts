import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { hashPassword, verifyPassword } from './customers.password';
import { loadSandboxCustomerDirectory } from './customers.sandbox';

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
});
