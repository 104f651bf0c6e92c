export {
  FAPI2_SIGNING_ALGS,
  FAPI_SIGNING_ALGS,
  TOKEN_ENDPOINT_AUTH_METHODS,
  isAllowedSigningAlg,
  type FapiProfile,
  type FapiSigningAlg,
  type TokenEndpointAuthMethod,
} from './algorithms';
export { certificateThumbprintS256 } from './thumbprint';
export {
  distinguishedNamesEqual,
  formatDistinguishedName,
  normalizeDistinguishedName,
  parseDistinguishedName,
  type AttributeTypeAndValue,
  type DistinguishedName,
  type DistinguishedNameComparison,
  type RelativeDistinguishedName,
} from './distinguished-name';
export { issuerDnOf, subjectDnOf } from './certificate-names';
