import { readFile } from 'node:fs/promises';
import { z } from 'zod';
import type { CustomerAccount, CustomerDirectory } from './customers.directory';
import { verifyPassword } from './customers.password';

// Imported rather than read from disk, so that the service bundle carries the sandbox data.
import sandboxCustomers from './sandbox-customers.json' with { type: 'json' };

const accountSchema = z
  .object({
    accountId: z.string().min(1).max(40),
    nickname: z.string().max(70),
    currency: z.string().regex(/^[A-Z]{3}$/),
    accountType: z.enum(['Personal', 'Business']),
    accountSubType: z.enum([
      'ChargeCard',
      'CreditCard',
      'CurrentAccount',
      'EMoney',
      'Loan',
      'Mortgage',
      'PrePaidCard',
      'Savings',
    ]),
    schemeName: z.string().min(1),
    identification: z.string().min(1).max(256),
    name: z.string().max(350),
    availableBalance: z.string().regex(/^-?\d{1,13}(\.\d{1,5})?$/),
  })
  .strict();

const fileSchema = z.object({
  about: z.string().optional(),
  customers: z.array(
    z
      .object({
        subject: z.string().min(1),
        username: z.string().min(1),
        name: z.string().min(1),
        passwordHash: z.string().startsWith('scrypt$'),
        accounts: z.array(accountSchema),
      })
      .strict(),
  ),
});

type SandboxCustomer = z.infer<typeof fileSchema>['customers'][number];

/**
 * Compared against when the username is unknown, so that a wrong username costs the same
 * scrypt work as a wrong password (consents.v1: "a wrong username and a wrong password give the
 * same answer"). It is the hash of a random string nobody knows.
 */
const UNKNOWN_USER_HASH = 'scrypt$131072$8$1$q2b6yJ1U0x0oQ2pW9vO0fA$kW2pV2m9cLr6bT0dJ1VZ0xk3mQ7T6vZx9tL0cB4hQ1Y';

/**
 * The sandbox customer directory: customers and accounts from a JSON data file (the bundled
 * `sandbox-customers.json` when `file` is undefined), validated at start-up (a malformed file
 * stops the service with the path of the bad field).
 *
 * @example
 * const customers = await loadSandboxCustomerDirectory();
 * const subject = await customers.verifyCredentials('amelia.hart', password);
 */
export async function loadSandboxCustomerDirectory(file?: string): Promise<CustomerDirectory> {
  const data: unknown = file === undefined ? sandboxCustomers : JSON.parse(await readFile(file, 'utf8'));
  const parsed = fileSchema.safeParse(data);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new Error(
      `customer data file ${file ?? 'sandbox-customers.json'}: ${issue?.path.join('.') ?? ''} ${issue?.message ?? 'is invalid'}`,
    );
  }
  return createSandboxCustomerDirectory(parsed.data.customers);
}

export function createSandboxCustomerDirectory(customers: readonly SandboxCustomer[]): CustomerDirectory {
  const byUsername = new Map(customers.map((customer) => [customer.username.toLowerCase(), customer]));
  const bySubject = new Map(customers.map((customer) => [customer.subject, customer]));
  const accounts = new Map<string, CustomerAccount & { subject: string }>();
  for (const customer of customers) {
    for (const account of customer.accounts) {
      if (accounts.has(account.accountId)) throw new Error(`account ${account.accountId} is listed twice`);
      accounts.set(account.accountId, { ...account, subject: customer.subject });
    }
  }
  return {
    async verifyCredentials(username, password) {
      const customer = byUsername.get(username.trim().toLowerCase());
      const matches = await verifyPassword(password, customer?.passwordHash ?? UNKNOWN_USER_HASH);
      return customer && matches ? customer.subject : undefined;
    },
    async findCustomer(loginHint) {
      // Subjects first: a subject is exact, while usernames fold case.
      const customer = bySubject.get(loginHint) ?? byUsername.get(loginHint.trim().toLowerCase());
      return customer ? { subject: customer.subject } : undefined;
    },
    async listAccounts(subject) {
      return (bySubject.get(subject)?.accounts ?? []).map((account) => ({ ...account }));
    },
    async findAccount(accountId) {
      const account = accounts.get(accountId);
      return account ? { ...account } : undefined;
    },
  };
}
