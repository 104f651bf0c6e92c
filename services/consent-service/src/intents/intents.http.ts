/**
 * The TPP-facing OBIE 3.1 intent APIs, mounted under /open-banking (reached through the edge's
 * mTLS host). Each endpoint is a short list of named steps; the work is in the consent service.
 */
import { createHash, randomUUID } from 'node:crypto';
import express, { type ErrorRequestHandler, type Request, type RequestHandler, type Router } from 'express';
import { PreconditionFailedError, isDomainError } from '@obip/errors';
import { errorHandler, jsonBody, type ClientCertificateReader } from '@obip/http';
import { CONSENT_ERROR_CODES } from '../consents/consents.errors';
import type { ConsentService } from '../consents/consents.service';
import type { CustomerDirectory } from '../customers/customers.directory';
import { requireTppToken, type AccessTokens } from './intents.auth';
import { ObieRequestError } from './intents.errors';
import {
  ACCOUNT_ACCESS_PATH,
  DOMESTIC_PAYMENT_PATH,
  accountAccessConsentBody,
  domesticPaymentConsentBody,
  fundsConfirmationBody,
} from './intents.responses';
import {
  canonicalJson,
  hasSufficientFunds,
  isIdempotencyKey,
  isInteractionId,
  parseAccountAccessRequest,
  parseDomesticPaymentRequest,
} from './intents.rules';

export interface IntentsRouterOptions {
  consents: ConsentService;
  customers: Pick<CustomerDirectory, 'findAccount'>;
  tokens: AccessTokens;
  readCertificate: ClientCertificateReader;
  /** Currencies domestic payments may be made in (ISO 4217). */
  paymentCurrencies: readonly string[];
  /** Prefix of Links.Self, e.g. `https://mtls.bank.example`; empty for relative links. */
  linksBaseUrl: string;
  /** Largest accepted request body. */
  bodyLimit?: string;
  /** Runs after the token is accepted, with `req.tpp` set: the per-client rate limit (main.ts). */
  afterAuthentication?: RequestHandler;
  now?: () => Date;
}

const INTERACTION_ID_HEADER = 'x-fapi-interaction-id';

/**
 * @example
 * app.use('/open-banking', createIntentsRouter({ consents, customers, tokens, readCertificate, ... }));
 */
export function createIntentsRouter(options: IntentsRouterOptions): Router {
  const now = options.now ?? (() => new Date());
  const body = jsonBody({ limit: options.bodyLimit ?? '64kb' });
  const afterAuthentication = options.afterAuthentication ? [options.afterAuthentication] : [];
  const clientToken = (scope: string) => [
    requireTppToken(
      { tokens: options.tokens, readCertificate: options.readCertificate },
      { scope, grantTypes: ['client_credentials'] },
    ),
    ...afterAuthentication,
  ];
  // OBIE PIS 3.1: funds confirmation is called with the token the customer authorised.
  const customerToken = (scope: string) => [
    requireTppToken(
      { tokens: options.tokens, readCertificate: options.readCertificate },
      { scope, grantTypes: ['authorization_code'] },
    ),
    ...afterAuthentication,
  ];
  const { consents, linksBaseUrl } = options;

  const createAccountAccessConsent: RequestHandler = async (req, res) => {
    const request = parseAccountAccessRequest(req.body, now());
    const consent = await consents.createAccountAccessConsent({
      clientId: callerOf(req),
      permissions: request.permissions,
      request: request.data,
      risk: request.risk,
      expiresAt: request.expiresAt,
    });
    res.status(201).json(accountAccessConsentBody(consent, linksBaseUrl));
  };

  const getAccountAccessConsent: RequestHandler = async (req, res) => {
    const consent = await consents.getForClient(consentIdOf(req), callerOf(req), 'account-access');
    res.status(200).json(accountAccessConsentBody(consent, linksBaseUrl));
  };

  /**
   * OBIE AIS 3.1: the TPP deletes its consent, authorised or not (here: revoked, or rejected while
   * it awaits authorisation; a final one is left as it is); 204 with no body.
   */
  const deleteAccountAccessConsent: RequestHandler = async (req, res) => {
    const clientId = callerOf(req);
    const consent = await consents.getForClient(consentIdOf(req), clientId, 'account-access');
    await consents.withdraw({ consentId: consent.id, actor: `client:${clientId}`, reason: 'deleted by the TPP' });
    res.status(204).end();
  };

  const createDomesticPaymentConsent: RequestHandler = async (req, res) => {
    const key = idempotencyKeyOf(req);
    const request = parseDomesticPaymentRequest(req.body, options.paymentCurrencies);
    const { consent } = await consents.createDomesticPaymentConsent(
      { clientId: callerOf(req), request: request.data, risk: request.risk, expiresAt: undefined },
      { key, bodyHash: createHash('sha256').update(canonicalJson(req.body)).digest('base64url') },
    );
    res.status(201).json(domesticPaymentConsentBody(consent, linksBaseUrl));
  };

  const getDomesticPaymentConsent: RequestHandler = async (req, res) => {
    const consent = await consents.getForClient(consentIdOf(req), callerOf(req), 'domestic-payment');
    res.status(200).json(domesticPaymentConsentBody(consent, linksBaseUrl));
  };

  /**
   * OBIE PIS 3.1 funds confirmation: only for an Authorised consent, with a token issued under
   * that very consent; compares the instructed amount with the selected debtor account.
   */
  const confirmFunds: RequestHandler = async (req, res) => {
    const consent = await consents.getForClient(consentIdOf(req), callerOf(req), 'domestic-payment');
    if (req.tpp?.consentId !== consent.id) {
      throw new ObieRequestError('forbidden', [
        {
          ErrorCode: 'UK.OBIE.Resource.ConsentMismatch',
          Message: 'the access token was not issued for this consent',
          Path: 'Authorization',
        },
      ]);
    }
    if (consent.status !== 'Authorised') throw invalidConsentStatus();
    const instructed = (consent.request.Initiation as { InstructedAmount: { Amount: string; Currency: string } })
      .InstructedAmount;
    const debtor = consent.accountIds[0] ? await options.customers.findAccount(consent.accountIds[0]) : undefined;
    const available =
      debtor !== undefined && hasSufficientFunds({ amount: instructed.Amount, currency: instructed.Currency }, debtor);
    res.status(200).json(fundsConfirmationBody(consent, available, now(), linksBaseUrl));
  };

  const router = express.Router();
  router.use(echoInteractionId);
  router.post(`/v3.1${ACCOUNT_ACCESS_PATH}`, clientToken('accounts'), body, createAccountAccessConsent);
  router.get(`/v3.1${ACCOUNT_ACCESS_PATH}/:ConsentId`, clientToken('accounts'), getAccountAccessConsent);
  router.delete(`/v3.1${ACCOUNT_ACCESS_PATH}/:ConsentId`, clientToken('accounts'), deleteAccountAccessConsent);
  router.post(`/v3.1${DOMESTIC_PAYMENT_PATH}`, clientToken('payments'), body, createDomesticPaymentConsent);
  router.get(`/v3.1${DOMESTIC_PAYMENT_PATH}/:ConsentId`, clientToken('payments'), getDomesticPaymentConsent);
  router.get(`/v3.1${DOMESTIC_PAYMENT_PATH}/:ConsentId/funds-confirmation`, customerToken('payments'), confirmFunds);
  router.use(toObieErrors);
  router.use(errorHandler('obie'));
  return router;
}

/**
 * FAPI 1.0 Part 1 §6.2.1.11 / OBIE: echo x-fapi-interaction-id, or generate one when absent; a
 * value that is not a UUID is refused (with a fresh id on the error response).
 */
const echoInteractionId: RequestHandler = (req, res, next) => {
  const incoming = req.headers[INTERACTION_ID_HEADER];
  if (incoming === undefined) {
    res.setHeader(INTERACTION_ID_HEADER, randomUUID());
    next();
    return;
  }
  if (typeof incoming === 'string' && isInteractionId(incoming)) {
    res.setHeader(INTERACTION_ID_HEADER, incoming);
    next();
    return;
  }
  res.setHeader(INTERACTION_ID_HEADER, randomUUID());
  next(
    new ObieRequestError('bad_request', [
      {
        ErrorCode: 'UK.OBIE.Header.Invalid',
        Message: 'x-fapi-interaction-id must be a UUID',
        Path: INTERACTION_ID_HEADER,
      },
    ]),
  );
};

function callerOf(req: Request): string {
  // requireTppToken runs before every handler; without it this is a wiring error.
  if (!req.tpp) throw new Error('the intent route has no TPP authentication step');
  return req.tpp.clientId;
}

function consentIdOf(req: Request): string {
  const id = req.params.ConsentId;
  if (typeof id !== 'string' || id.length === 0 || id.length > 128) {
    throw new ObieRequestError('bad_request', [
      { ErrorCode: 'UK.OBIE.Field.Invalid', Message: 'ConsentId is invalid', Path: 'ConsentId' },
    ]);
  }
  return id;
}

/** OBIE PIS 3.1: x-idempotency-key is mandatory on POST domestic-payment-consents. */
function idempotencyKeyOf(req: Request): string {
  const key = req.headers['x-idempotency-key'];
  if (key === undefined) {
    throw new ObieRequestError('bad_request', [
      { ErrorCode: 'UK.OBIE.Header.Missing', Message: 'x-idempotency-key is required', Path: 'x-idempotency-key' },
    ]);
  }
  if (typeof key !== 'string' || !isIdempotencyKey(key)) {
    throw new ObieRequestError('bad_request', [
      {
        ErrorCode: 'UK.OBIE.Header.Invalid',
        Message: 'x-idempotency-key must be 1 to 40 visible characters',
        Path: 'x-idempotency-key',
      },
    ]);
  }
  return key;
}

function invalidConsentStatus(): ObieRequestError {
  return new ObieRequestError(
    'bad_request',
    [{ ErrorCode: 'UK.OBIE.Resource.InvalidConsentStatus', Message: 'the consent status does not allow this' }],
    { code: CONSENT_ERROR_CODES.invalidStatus },
  );
}

/**
 * Consent-domain refusals in OBIE terms: a transition the status does not allow is a 400
 * UK.OBIE.Resource.InvalidConsentStatus; a reused idempotency key is a 400 on that header.
 */
const toObieErrors: ErrorRequestHandler = (error: unknown, _req, _res, next) => {
  if (error instanceof PreconditionFailedError) {
    next(invalidConsentStatus());
    return;
  }
  if (isDomainError(error) && error.code === 'idempotency_key_reused') {
    next(
      new ObieRequestError(
        'bad_request',
        [{ ErrorCode: 'UK.OBIE.Header.Invalid', Message: error.description, Path: 'x-idempotency-key' }],
        { code: error.code },
      ),
    );
    return;
  }
  next(error);
};
