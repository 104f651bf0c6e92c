export { createTokenStore, tokenKeyId, type TokenStore, type TokenStoreOptions } from './token-store';
export { parseTokenRecord, type TokenRecord, type TokenType } from './token-record';
