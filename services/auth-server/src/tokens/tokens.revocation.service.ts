import { BadRequestError } from '@obip/errors';

/** Where the engine keeps what a grant, consent or client produced (implemented in adapter/). */
export interface IssuedArtifacts {
  grantIdsOfConsent(consentId: string): Promise<string[]>;
  grantIdsOfClient(clientId: string): Promise<string[]>;
  /** Deletes a grant and everything issued under it (codes, access and refresh tokens); resolves with the count. */
  revokeGrant(grantId: string): Promise<number>;
  /** Deletes a client's tokens that have no grant (client_credentials); resolves with the count. */
  revokeClientTokens(clientId: string): Promise<number>;
}

/** The introspection records of libs/token-store. */
export interface IntrospectionRecords {
  revokeByConsent(consentId: string): Promise<number>;
  revokeByClient(clientId: string): Promise<number>;
  revokeByGrant(grantId: string): Promise<number>;
}

export interface TokenRevocation {
  /** Revokes every grant and token issued under a consent. Idempotent; resolves with how many were live. */
  revokeByConsent(consentId: string): Promise<number>;
  revokeByClient(clientId: string): Promise<number>;
  revokeGrant(grantId: string): Promise<number>;
}

/**
 * The revocation cascade (ARCHITECTURE: revoking a consent, deleting a client or replaying a
 * code revokes every token derived from it). The introspection records go first, so
 * token-introspection refuses the tokens at once and a token saved concurrently is refused by
 * the token store's revocation marker; then the engine's own records are deleted.
 *
 * The count is of engine records (grants and the tokens and codes under them); the
 * introspection records mirror the same tokens and are not counted again.
 *
 * @example
 * const revocation = createTokenRevocation(artifacts, tokenStore);
 * await revocation.revokeByConsent('consent-1'); // 3, then 0 on a retry
 */
export function createTokenRevocation(artifacts: IssuedArtifacts, records: IntrospectionRecords): TokenRevocation {
  const required = (what: string, value: string) => {
    if (!value) throw new BadRequestError(`a ${what} is required`);
  };

  async function revokeGrants(grantIds: readonly string[]): Promise<number> {
    let count = 0;
    for (const grantId of grantIds) count += await revokeGrant(grantId);
    return count;
  }

  async function revokeGrant(grantId: string): Promise<number> {
    required('grant id', grantId);
    await records.revokeByGrant(grantId);
    return artifacts.revokeGrant(grantId);
  }

  return {
    revokeGrant,

    async revokeByConsent(consentId) {
      required('consent id', consentId);
      await records.revokeByConsent(consentId);
      return revokeGrants(await artifacts.grantIdsOfConsent(consentId));
    },

    async revokeByClient(clientId) {
      required('client id', clientId);
      await records.revokeByClient(clientId);
      const viaGrants = await revokeGrants(await artifacts.grantIdsOfClient(clientId));
      return viaGrants + (await artifacts.revokeClientTokens(clientId));
    },
  };
}
