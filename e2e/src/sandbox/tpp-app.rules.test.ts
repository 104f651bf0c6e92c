import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  ACCOUNT_PERMISSIONS,
  accountAccessConsentRequest,
  balanceToShow,
  describeCallFailure,
  domesticInitiation,
  domesticPaymentConsentRequest,
  domesticPaymentRequest,
  errorCodeOf,
  escapeHtml,
  formatAccountIdentification,
  html,
  intentClaimsParameter,
  isSameSecret,
  PAYMENT_FORM_DEFAULTS,
  readCookie,
  registrationClaims,
  SafeHtml,
  validatePaymentForm,
  type PaymentFormValues,
} from './tpp-app.rules';

const valid: PaymentFormValues = {
  amount: '12.34',
  creditor_name: 'Corner Shop Ltd',
  creditor_account: '40400412345678',
  reference: 'Invoice 42',
};

function problemsOf(form: Partial<PaymentFormValues>): string[] {
  const result = validatePaymentForm({ ...valid, ...form });
  return result.ok ? [] : result.problems.map((problem) => problem.field);
}

describe('HTML', () => {
  test('escapes the five characters that can end text or an attribute value', () => {
    assert.equal(
      escapeHtml(`<a href="x" title='y'>&</a>`),
      '&lt;a href=&quot;x&quot; title=&#39;y&#39;&gt;&amp;&lt;/a&gt;',
    );
  });

  test('the html tag escapes interpolated text, keeps safe markup and joins lists', () => {
    const name = '<script>alert(1)</script>';
    const row = html`<td title="${'"onmouseover="x'}">${name}</td>`;
    assert.equal(row.value, '<td title="&quot;onmouseover=&quot;x">&lt;script&gt;alert(1)&lt;/script&gt;</td>');
    // prettier-ignore
    const list = html`<ul>${['a&b', 'c'].map((item) => html`<li>${item}</li>`)}</ul>`;
    assert.equal(list.value, '<ul><li>a&amp;b</li><li>c</li></ul>');
    assert.equal(
      html`<p>${html`<b>${'&'}</b>`}</p>`.value,
      '<p><b>&amp;</b></p>',
      'nested markup is not escaped twice',
    );
    assert.equal(html`${undefined}${null}${false}${0}`.value, '0');
    assert.ok(html`x` instanceof SafeHtml);
  });
});

describe('the registration request', () => {
  const now = new Date('2030-01-02T03:04:05Z');
  const claims = registrationClaims({
    softwareId: 'soft-1',
    ssa: 'the.ssa.jws',
    redirectUri: 'https://127.0.0.1:8097/callback',
    audience: 'obip-sandbox-bank',
    now,
    jti: 'jti-1',
  });

  test('asks for FAPI 2.0 code flow, both roles’ scopes and private_key_jwt', () => {
    assert.deepEqual(claims.response_types, ['code']);
    assert.equal(claims.scope, 'openid accounts payments');
    assert.equal(claims.token_endpoint_auth_method, 'private_key_jwt');
    assert.equal(claims.token_endpoint_auth_signing_alg, 'PS256');
    assert.deepEqual(claims.grant_types, ['authorization_code', 'client_credentials', 'refresh_token']);
    assert.deepEqual(claims.redirect_uris, ['https://127.0.0.1:8097/callback']);
  });

  test('is issued by the software, for the bank, for five minutes, with the statement', () => {
    assert.equal(claims.iss, 'soft-1');
    assert.equal(claims.software_id, 'soft-1');
    assert.equal(claims.aud, 'obip-sandbox-bank');
    assert.equal(claims.iat, Math.floor(now.getTime() / 1000));
    assert.equal(claims.exp, (claims.iat as number) + 300);
    assert.equal(claims.jti, 'jti-1');
    assert.equal(claims.software_statement, 'the.ssa.jws');
  });
});

describe('the intents', () => {
  test('account access asks for accounts, balances and transactions, with credits and debits as OBIE requires', () => {
    const body = accountAccessConsentRequest(new Date('2030-01-01T00:00:00Z'));
    assert.deepEqual(body.Data.Permissions, [...ACCOUNT_PERMISSIONS]);
    const permissions: readonly string[] = body.Data.Permissions;
    for (const permission of ['ReadAccountsDetail', 'ReadBalances', 'ReadTransactionsDetail']) {
      assert.ok(permissions.includes(permission), permission);
    }
    // OBIE AIS 3.1 refuses Basic/Detail transactions without credits or debits.
    assert.ok(permissions.includes('ReadTransactionsCredits'));
    assert.ok(permissions.includes('ReadTransactionsDebits'));
    assert.deepEqual(body.Risk, {});
  });

  test('account access expires 90 days ahead, as an ISO date-time with a time zone', () => {
    const body = accountAccessConsentRequest(new Date('2030-01-01T00:00:00Z'));
    assert.equal(body.Data.ExpirationDateTime, '2030-04-01T00:00:00.000Z');
  });

  test('the intent is an essential openbanking_intent_id ID token claim', () => {
    assert.deepEqual(JSON.parse(intentClaimsParameter('c-1')), {
      id_token: { openbanking_intent_id: { value: 'c-1', essential: true } },
    });
  });

  test('the payment consent and the payment carry the same Initiation', () => {
    const result = validatePaymentForm(valid);
    assert.ok(result.ok);
    const initiation = domesticInitiation(result.order, { instruction: 'i'.repeat(40), endToEnd: 'e2e-1' });
    assert.deepEqual(initiation, {
      InstructionIdentification: 'i'.repeat(35),
      EndToEndIdentification: 'e2e-1',
      InstructedAmount: { Amount: '12.34', Currency: 'GBP' },
      CreditorAccount: {
        SchemeName: 'UK.OBIE.SortCodeAccountNumber',
        Identification: '40400412345678',
        Name: 'Corner Shop Ltd',
      },
      RemittanceInformation: { Reference: 'Invoice 42' },
    });
    assert.deepEqual(domesticPaymentConsentRequest(initiation), { Data: { Initiation: initiation }, Risk: {} });
    assert.deepEqual(domesticPaymentRequest('pc-1', initiation), {
      Data: { ConsentId: 'pc-1', Initiation: initiation },
      Risk: {},
    });
  });

  test('a payment without a reference has no RemittanceInformation', () => {
    const result = validatePaymentForm({ ...valid, reference: '  ' });
    assert.ok(result.ok);
    assert.equal(
      'RemittanceInformation' in domesticInitiation(result.order, { instruction: 'i', endToEnd: 'e' }),
      false,
    );
  });
});

describe('the payment form', () => {
  test('accepts the defaults it shows', () => {
    assert.equal(validatePaymentForm(PAYMENT_FORM_DEFAULTS).ok, true);
  });

  test('takes pounds and pence with exactly two decimals, above zero', () => {
    assert.deepEqual(problemsOf({ amount: '12.34' }), []);
    assert.deepEqual(problemsOf({ amount: '0.01' }), []);
    assert.deepEqual(problemsOf({ amount: '12' }), ['amount']);
    assert.deepEqual(problemsOf({ amount: '12.3' }), ['amount']);
    assert.deepEqual(problemsOf({ amount: '12.345' }), ['amount']);
    assert.deepEqual(problemsOf({ amount: '-1.00' }), ['amount']);
    assert.deepEqual(problemsOf({ amount: '0.00' }), ['amount']);
    assert.deepEqual(problemsOf({ amount: '00.00' }), ['amount']);
    assert.deepEqual(problemsOf({ amount: '12345678901.00' }), ['amount']);
    assert.deepEqual(problemsOf({ amount: '1e3.00' }), ['amount']);
  });

  test('needs a payee name of at most 350 characters without control characters', () => {
    assert.deepEqual(problemsOf({ creditor_name: '' }), ['creditor_name']);
    assert.deepEqual(problemsOf({ creditor_name: '   ' }), ['creditor_name']);
    assert.deepEqual(problemsOf({ creditor_name: 'x'.repeat(351) }), ['creditor_name']);
    assert.deepEqual(problemsOf({ creditor_name: 'x'.repeat(350) }), []);
    assert.deepEqual(problemsOf({ creditor_name: 'Corner\nShop' }), ['creditor_name']);
  });

  test('takes a sort code and account number of 14 digits, as people type them', () => {
    const result = validatePaymentForm({ ...valid, creditor_account: '40-40-04 12345678' });
    assert.ok(result.ok);
    assert.equal(result.order.creditorAccount, '40400412345678');
    assert.deepEqual(problemsOf({ creditor_account: '4040041234567' }), ['creditor_account']);
    assert.deepEqual(problemsOf({ creditor_account: '404004123456789' }), ['creditor_account']);
    assert.deepEqual(problemsOf({ creditor_account: 'GB33BUKB20201555555555' }), ['creditor_account']);
  });

  test('takes an optional reference of at most 35 characters', () => {
    assert.deepEqual(problemsOf({ reference: '' }), []);
    assert.deepEqual(problemsOf({ reference: 'r'.repeat(35) }), []);
    assert.deepEqual(problemsOf({ reference: 'r'.repeat(36) }), ['reference']);
    assert.deepEqual(problemsOf({ reference: 'a\u0007b' }), ['reference']);
    assert.deepEqual(problemsOf({ reference: 'a\u007fb' }), ['reference']);
  });

  test('reports every problem at once and gives back what was typed, trimmed', () => {
    const result = validatePaymentForm({ amount: ' 1 ', creditor_name: '', creditor_account: 'x', reference: 'ok' });
    assert.equal(result.ok, false);
    assert.ok(!result.ok);
    assert.deepEqual(
      result.problems.map((problem) => problem.field),
      ['amount', 'creditor_name', 'creditor_account'],
    );
    assert.equal(result.values.amount, '1');
    assert.equal(result.values.reference, 'ok');
  });

  test('treats missing fields as empty', () => {
    const result = validatePaymentForm({});
    assert.ok(!result.ok);
    assert.deepEqual(
      result.problems.map((problem) => problem.field),
      ['amount', 'creditor_name', 'creditor_account'],
    );
  });
});

describe("reading the bank's answers", () => {
  test('an OBIE error body names its first error code, else its Code; an OAuth body its error', () => {
    assert.equal(
      errorCodeOf({
        Code: '400 BadRequest',
        Message: 'bad',
        Errors: [{ ErrorCode: 'UK.OBIE.Field.Invalid', Message: 'x' }],
      }),
      'UK.OBIE.Field.Invalid',
    );
    assert.equal(errorCodeOf({ Code: '401 Unauthorized', Errors: [] }), '401 Unauthorized');
    assert.equal(errorCodeOf({ error: 'invalid_token' }), 'invalid_token');
    assert.equal(errorCodeOf('nope'), undefined);
    assert.equal(errorCodeOf(undefined), undefined);
    assert.equal(errorCodeOf({}), undefined);
  });

  test('a failed call is described by its status and OAuth, challenge or network code', () => {
    assert.deepEqual(describeCallFailure({ status: 400, error: 'invalid_client', error_description: 'secret' }), {
      status: 400,
      code: 'invalid_client',
    });
    assert.deepEqual(
      describeCallFailure({ status: 401, cause: [{ scheme: 'bearer', parameters: { error: 'invalid_token' } }] }),
      { status: 401, code: 'invalid_token' },
    );
    assert.deepEqual(
      describeCallFailure(Object.assign(new TypeError('fetch failed'), { cause: { code: 'ECONNREFUSED' } })),
      {
        code: 'ECONNREFUSED',
      },
    );
    assert.deepEqual(describeCallFailure(Object.assign(new Error('x'), { code: 'OAUTH_INVALID_RESPONSE' })), {
      code: 'OAUTH_INVALID_RESPONSE',
    });
    assert.deepEqual(describeCallFailure('text'), {});
  });

  test('shows the available balance first, negative when it is a debit', () => {
    assert.deepEqual(
      balanceToShow([
        { Type: 'InterimBooked', CreditDebitIndicator: 'Credit', Amount: { Amount: '10.00', Currency: 'GBP' } },
        { Type: 'InterimAvailable', CreditDebitIndicator: 'Credit', Amount: { Amount: '7.50', Currency: 'GBP' } },
      ]),
      { amount: '7.50', currency: 'GBP' },
    );
    assert.deepEqual(
      balanceToShow([
        { Type: 'ClosingBooked', CreditDebitIndicator: 'Debit', Amount: { Amount: '5.00', Currency: 'EUR' } },
      ]),
      { amount: '-5.00', currency: 'EUR' },
    );
    assert.deepEqual(
      balanceToShow([{ Type: 'Other', CreditDebitIndicator: 'Debit', Amount: { Amount: '0.00', Currency: 'GBP' } }]),
      { amount: '0.00', currency: 'GBP' },
    );
    assert.equal(balanceToShow([]), undefined);
  });

  test('shows a UK account as sort code and number, other schemes as they are', () => {
    assert.equal(formatAccountIdentification('UK.OBIE.SortCodeAccountNumber', '99010231845927'), '99-01-02 31845927');
    assert.equal(formatAccountIdentification('UK.OBIE.IBAN', 'GB33BUKB20201555555555'), 'GB33BUKB20201555555555');
  });
});

describe('sessions', () => {
  test('reads one cookie among several', () => {
    assert.equal(readCookie('a=1; __Host-financroo=abc; b=2', '__Host-financroo'), 'abc');
    assert.equal(readCookie('x__Host-financroo=abc', '__Host-financroo'), undefined);
    assert.equal(readCookie(undefined, 'a'), undefined);
  });

  test('a form token matches only the session’s own', () => {
    assert.equal(isSameSecret('token-1', 'token-1'), true);
    assert.equal(isSameSecret('token-1', 'token-2'), false);
    assert.equal(isSameSecret('token-1', 'token-12'), false);
    assert.equal(isSameSecret('token-1', undefined), false);
  });
});
