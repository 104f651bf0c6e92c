import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  AuthorizationDetailError,
  canonicalJson,
  checkAuthorizationDetail,
  describeAuthorizationDetail,
  narrowAuthorizationDetails,
} from './rar.rules';

const payment = {
  type: 'payment_initiation',
  actions: ['initiate', 'status'],
  locations: ['https://bank.example/payments'],
  instructedAmount: { currency: 'GBP', amount: '25.00' },
  creditorName: 'Corner Shop Ltd',
  creditorAccount: { iban: 'GB33BUKB20201555555555' },
  remittanceInformationUnstructured: 'Invoice 1042',
};
const accounts = { type: 'account_information', actions: ['list_accounts', 'read_balances'] };

const refused = (detail: Record<string, unknown>, message: RegExp) =>
  assert.throws(
    () => checkAuthorizationDetail(detail, 0),
    (error: unknown) => {
      assert.ok(error instanceof AuthorizationDetailError);
      assert.match(error.message, message);
      return true;
    },
  );

describe('authorization_details rules', () => {
  test('accepts the supported types with every member the consent page shows', () => {
    checkAuthorizationDetail(payment, 0);
    checkAuthorizationDetail(accounts, 1);
    checkAuthorizationDetail({ ...accounts, datatypes: ['balances'], identifier: 'acc-1', privileges: ['read'] }, 2);
  });

  test('refuses a member the consent page would not show, naming it', () => {
    refused({ ...accounts, maxAmount: '1000' }, /member 'maxAmount' is not supported for type account_information/);
    refused({ ...payment, debtorAccount: { iban: 'GB33BUKB20201555555555' } }, /'debtorAccount'/);
  });

  test('refuses unknown types and actions outside the type', () => {
    refused({ type: 'openid_credential' }, /unsupported type/);
    refused({ ...accounts, actions: ['initiate'] }, /action 'initiate' is not one of list_accounts/);
    refused({ type: 'account_information' }, /needs actions/);
  });

  test('payment_initiation needs a positive amount in an ISO 4217 currency and a creditor', () => {
    refused({ ...payment, instructedAmount: { currency: 'gbp', amount: '25.00' } }, /instructedAmount/);
    refused({ ...payment, instructedAmount: { currency: 'GBP', amount: '0.00' } }, /instructedAmount/);
    refused({ ...payment, instructedAmount: { currency: 'GBP', amount: 25 } }, /instructedAmount/);
    refused({ ...payment, instructedAmount: { currency: 'GBP', amount: '1.123456' } }, /instructedAmount/);
    refused({ ...payment, instructedAmount: { currency: 'GBP', amount: '1', fx: 'x' } }, /instructedAmount/);
    refused({ ...payment, creditorName: ' ' }, /creditorName/);
    refused({ ...payment, creditorName: 'x'.repeat(141) }, /creditorName/);
    refused({ ...payment, creditorAccount: { iban: 'not-an-iban' } }, /creditorAccount/);
    refused({ ...payment, creditorAccount: { iban: 'GB33BUKB20201555555555', bic: 'X' } }, /creditorAccount/);
    refused({ ...payment, remittanceInformationUnstructured: '' }, /remittanceInformationUnstructured/);
  });

  test('locations must be https URLs and a detail has a size limit', () => {
    refused({ ...accounts, locations: ['http://bank.example/accounts'] }, /https/);
    refused({ ...accounts, identifier: 'x'.repeat(3000) }, /longer than 2048/);
  });

  test('the consent page wording names the payment, its creditor, reference and allowed actions', () => {
    const { title, lines } = describeAuthorizationDetail(payment);
    assert.equal(title, 'Pay 25.00 GBP to Corner Shop Ltd');
    assert.deepEqual(lines, [
      'To account GB33BUKB20201555555555',
      'Payment reference: Invoice 1042',
      'Allowed to: make the payment, check its status',
      'At: https://bank.example/payments',
    ]);
    assert.deepEqual(describeAuthorizationDetail(accounts), {
      title: 'Access to your account information',
      lines: ['Allowed to: see the list of your accounts, read your balances'],
    });
  });

  test('a token request narrows granted details member for member, whatever the member order', () => {
    const reordered = { actions: ['list_accounts', 'read_balances'], type: 'account_information' };
    assert.deepEqual(narrowAuthorizationDetails([payment, accounts], [reordered]), [reordered]);
    assert.throws(
      () => narrowAuthorizationDetails([accounts], [{ ...accounts, actions: ['read_transactions'] }]),
      /authorization_details\[0\] was not granted/,
    );
    assert.throws(() => narrowAuthorizationDetails([], [accounts]), AuthorizationDetailError);
  });

  test('canonical JSON sorts members at every depth but keeps array order', () => {
    assert.equal(canonicalJson({ b: 1, a: { d: [2, 1], c: null } }), '{"a":{"c":null,"d":[2,1]},"b":1}');
  });
});
