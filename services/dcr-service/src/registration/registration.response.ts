import type { RegisteredClient } from '../clients/clients.repository';

/** SSA claims about the SSA itself; the response's own fields say what they would. */
const SSA_ENVELOPE_CLAIMS = new Set(['iss', 'iat', 'exp', 'nbf', 'jti', 'aud']);

/**
 * The registration response (OBIE DCR data model, RFC 7591 §3.2.1): the registered metadata,
 * every software statement claim flattened to the top level (`software_id`, `software_roles`,
 * `org_id`, `org_name`, ...), and the client's identifiers and management credentials.
 * Metadata wins over an SSA claim of the same name.
 *
 * @example
 * res.status(201).json(toRegistrationResponse(client, { registrationClientUri, registrationAccessToken }));
 */
export function toRegistrationResponse(
  client: RegisteredClient,
  management: { registrationClientUri: string; registrationAccessToken?: string },
): Record<string, unknown> {
  const flattened: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(client.softwareStatementClaims)) {
    if (!SSA_ENVELOPE_CLAIMS.has(name)) flattened[name] = value;
  }
  return {
    ...flattened,
    ...client.metadata,
    client_id: client.clientId,
    client_id_issued_at: Math.floor(client.createdAt.getTime() / 1000),
    software_statement: client.softwareStatement,
    registration_client_uri: management.registrationClientUri,
    ...(management.registrationAccessToken === undefined
      ? {}
      : { registration_access_token: management.registrationAccessToken }),
  };
}
