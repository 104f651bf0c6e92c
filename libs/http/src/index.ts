export { createHttpApp, type HttpAppOptions } from './app';
export { requestId, REQUEST_ID_HEADER } from './request-id';
export {
  contentSecurityPolicy,
  DEFAULT_CONTENT_SECURITY_POLICY,
  DEFAULT_STRICT_TRANSPORT_SECURITY,
  securityHeaders,
  type SecurityHeaderOptions,
} from './security-headers';
export { createRequestLogger } from './request-logging';
export { routeTemplateOf, UNMATCHED_ROUTE, type ResponseObserver } from './route-template';
export { formBody, jsonBody, rawJoseBody, type BodyOptions, type FormBodyOptions } from './body-parsing';
export { mediaTypeOf, requireContentType, type MediaType } from './content-type';
export { errorHandler, notFoundHandler, statusForKind, type ErrorFormat } from './error-handler';
export {
  HttpStatusError,
  InvalidFieldsError,
  type InvalidField,
  ObieError,
  PayloadTooLargeError,
  UnsupportedMediaTypeError,
  toHttpDomainError,
  type ObieErrorItem,
} from './http-errors';
export {
  createClientCertificateReader,
  type ClientCertificate,
  type ClientCertificateHeaderFormat,
  type ClientCertificateReader,
  type ClientCertificateReaderOptions,
} from './client-certificate';
export { clientCertificate } from './client-certificate.middleware';
export { createTrustedProxies, type TrustedProxies } from './trusted-proxies';
export { PrivateAddressError, isPrivateAddress, publicOnlyLookup } from './outbound-address';
export {
  createRateLimitMetrics,
  createRateLimiter,
  createRedisRateCounter,
  fixedWindow,
  limitPerWindow,
  rateLimit,
  rateLimitKey,
  type RateCounter,
  type RateCounterStore,
  type RateLimitCheck,
  type RateLimiter,
  type RateLimiterOptions,
  type RateLimitMetrics,
  type RateLimitOptions,
  type RateLimitReason,
} from './rate-limit';
export { addressBucket, createSourceAddressReader, type SourceAddressReader } from './source-address';
