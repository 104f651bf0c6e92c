import { readFile } from 'node:fs/promises';
import { z } from 'zod';
import type { CustomerAccount, CustomerDirectory, VerifiedClaims } from './customers.directory';
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

/*
 * Verified identity as the OpenID Identity Assurance Schema Definition 1.0 shapes it (see
 * customers.directory.ts). Strict: a misspelt member would otherwise reach clients unnoticed.
 */
const dateTime = z.iso.datetime({ offset: true });
const text = (max: number) => z.string().min(1).max(max);
/** ICAO Doc 9303 codes: three letters, a few shorter (Germany is `D`). */
const icaoCountry = z.string().regex(/^[A-Z]{1,3}$/, 'must be an ICAO country code, e.g. GBR');

const checkSchema = z
  .object({
    check_method: text(64),
    organization: text(256).optional(),
    txn: text(256).optional(),
    time: dateTime.optional(),
  })
  .strict();
const issuerSchema = z.object({ name: text(256), country_code: icaoCountry.optional() }).strict();

const evidenceSchema = z.discriminatedUnion('type', [
  z
    .object({
      type: z.literal('document'),
      check_details: z.array(checkSchema).min(1).max(10).optional(),
      time: dateTime.optional(),
      document_details: z
        .object({
          type: text(64),
          document_number: text(64).optional(),
          issuer: issuerSchema.optional(),
          date_of_issuance: z.iso.date().optional(),
          date_of_expiry: z.iso.date().optional(),
        })
        .strict(),
    })
    .strict(),
  z
    .object({
      type: z.literal('electronic_record'),
      check_details: z.array(checkSchema).min(1).max(10).optional(),
      time: dateTime.optional(),
      record: z.object({ type: text(64), source: issuerSchema.optional() }).strict(),
    })
    .strict(),
]);

const verifiedClaimsSchema = z
  .object({
    verification: z
      .object({
        trust_framework: text(64),
        assurance_level: text(64).optional(),
        time: dateTime.optional(),
        verification_process: text(256).optional(),
        evidence: z.array(evidenceSchema).min(1).max(10).optional(),
      })
      .strict(),
    claims: z
      .object({
        given_name: text(256).optional(),
        family_name: text(256).optional(),
        birthdate: z.iso.date().optional(),
        place_of_birth: z
          .object({
            country: z
              .string()
              .regex(/^[A-Z]{2}$/, 'must be an ISO 3166-1 alpha-2 code')
              .optional(),
            region: text(256).optional(),
            locality: text(256).optional(),
          })
          .strict()
          .optional(),
        nationalities: z.array(icaoCountry).min(1).max(10).optional(),
        address: z
          .object({
            formatted: text(512).optional(),
            street_address: text(256).optional(),
            locality: text(256).optional(),
            region: text(256).optional(),
            postal_code: text(32).optional(),
            country: text(64).optional(),
          })
          .strict()
          .optional(),
      })
      .strict()
      // A verification that established no claim has nothing to release.
      .refine((claims) => Object.keys(claims).length > 0, 'must hold at least one claim'),
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
        /** Absent means nothing verified. */
        verifiedIdentity: z.array(verifiedClaimsSchema).max(20).default([]),
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
const UNKNOWN_USER_HASH = 'scrypt$16384$8$5$JJnsU6lhpP-sfWCa3AQUiw$NP7J7VzVpWhloPo9Jj3k91hSSmL2y8mbv1r3AH1J4mk';

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
    const customer = customerNamed(data, issue?.path);
    throw new Error(
      `customer data file ${file ?? 'sandbox-customers.json'}: ${customer ? `customer ${customer}: ` : ''}${issue?.path.join('.') ?? ''} ${issue?.message ?? 'is invalid'}`,
    );
  }
  return createSandboxCustomerDirectory(parsed.data.customers);
}

/** The username (else subject) of the customer a schema issue is in, so the message names them. */
function customerNamed(data: unknown, path: readonly PropertyKey[] | undefined): string | undefined {
  if (path?.[0] !== 'customers' || typeof path[1] !== 'number') return undefined;
  const customer = (data as { customers?: unknown[] }).customers?.[path[1]] as
    { username?: unknown; subject?: unknown } | undefined;
  const name = customer?.username ?? customer?.subject;
  return typeof name === 'string' && name !== '' ? JSON.stringify(name) : `#${path[1] + 1}`;
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
    async verifiedIdentity(subject) {
      const customer = bySubject.get(subject);
      // A copy: callers filter what they release and must not change the directory's data.
      return customer ? structuredClone<VerifiedClaims[]>(customer.verifiedIdentity) : undefined;
    },
  };
}
