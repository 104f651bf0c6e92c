/**
 * The bank's customer directory, as consent-service needs it: who a customer is (login on the
 * consent page, CIBA login hints) and which accounts they hold. The sandbox implementation reads a data file
 * (`customers.sandbox.ts`); a bank plugs its real directory in by implementing this interface.
 */

/** One account a customer holds (OBIE account fields, as on the consent page). */
export interface CustomerAccount {
  accountId: string;
  nickname: string;
  /** ISO 4217. */
  currency: string;
  /** OBIE AccountType: Personal or Business. */
  accountType: string;
  /** OBIE AccountSubType, e.g. CurrentAccount, Savings. */
  accountSubType: string;
  /** OBIE SchemeName, e.g. UK.OBIE.SortCodeAccountNumber. */
  schemeName: string;
  identification: string;
  /** The name on the account. */
  name: string;
  /** Available balance as an OBIE decimal string in `currency`. */
  availableBalance: string;
}

export interface CustomerDirectory {
  /**
   * The customer's subject when `username` and `password` match, undefined otherwise; a wrong
   * username and a wrong password take the same time and give the same answer.
   */
  verifyCredentials(username: string, password: string): Promise<string | undefined>;
  /**
   * The customer a CIBA `login_hint` designates, by subject or else by username (case-insensitive
   * like the login); undefined when none. No credentials: the customer authenticates later, on
   * their authentication device.
   */
  findCustomer(loginHint: string): Promise<{ subject: string } | undefined>;
  /** The customer's accounts; empty when the customer is unknown. */
  listAccounts(subject: string): Promise<CustomerAccount[]>;
  /** One account with its holder's subject, for funds checks; undefined when unknown. */
  findAccount(accountId: string): Promise<(CustomerAccount & { subject: string }) | undefined>;
}
