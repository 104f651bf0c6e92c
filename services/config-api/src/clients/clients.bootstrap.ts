import type { Connection } from 'mongoose';
import { z } from 'zod';
import { ADMIN_API_SCOPES } from '@obip/platform-config';
import type { Logger } from '@obip/observability';
import type { AdminPrincipal } from '../access/access.tokens';
import type { ClientOnboarding } from './clients.service';

/** The software and organisation the bootstrap administrator client is registered under. */
export const BOOTSTRAP_SOFTWARE_ID = 'obip-admin-bootstrap';
export const BOOTSTRAP_ORG_ID = 'obip';

const CLAIMS = 'bootstrap_claims';
const CLAIM_ID = 'admin-client';

const BOOTSTRAP_PRINCIPAL: AdminPrincipal = {
  subject: 'config-api:bootstrap',
  clientId: '',
  issuer: '',
  scopes: new Set(),
};

/**
 * BOOTSTRAP_ADMIN_CLIENT: the first administrator client, with which the bank's operators get
 * admin API tokens from the platform's own auth-server (client_credentials). Only public key
 * material: the private key stays with the operators.
 */
export const bootstrapAdminClientSchema = z
  .object({
    client_name: z.string().min(1).max(200).default('obip administrator (bootstrap)'),
    token_endpoint_auth_method: z.enum(['private_key_jwt', 'tls_client_auth']).default('private_key_jwt'),
    token_endpoint_auth_signing_alg: z.enum(['PS256', 'ES256']).optional(),
    jwks: z.object({ keys: z.array(z.record(z.string(), z.unknown())).min(1) }).optional(),
    jwks_uri: z.string().url().optional(),
    tls_client_auth_subject_dn: z.string().min(1).optional(),
    scope: z.string().min(1).default(ADMIN_API_SCOPES.join(' ')),
  })
  .strict()
  .refine((client) => client.jwks !== undefined || client.jwks_uri !== undefined, 'jwks or jwks_uri is required')
  .refine(
    (client) =>
      client.token_endpoint_auth_method === 'private_key_jwt'
        ? client.token_endpoint_auth_signing_alg !== undefined
        : client.tls_client_auth_subject_dn !== undefined,
    'private_key_jwt needs token_endpoint_auth_signing_alg; tls_client_auth needs tls_client_auth_subject_dn',
  );
export type BootstrapAdminClient = z.infer<typeof bootstrapAdminClientSchema>;

/**
 * One claim per database, so that of several replicas starting together one onboards the
 * client. A claim left by a replica that died half-way lapses after `claimMs`.
 */
async function claimBootstrap(mongo: Connection, claimMs: number, now: Date): Promise<boolean> {
  const claims = mongo.collection<{ _id: string; until: Date }>(CLAIMS);
  try {
    const claimed = await claims.findOneAndUpdate(
      { _id: CLAIM_ID, until: { $lt: now } },
      { $set: { until: new Date(now.getTime() + claimMs) } },
      { upsert: true, returnDocument: 'after' },
    );
    return claimed !== null;
  } catch (error) {
    // The upsert lost to a live claim of another replica (duplicate _id).
    if ((error as { code?: number }).code === 11000) return false;
    throw error;
  }
}

/**
 * Makes sure the bootstrap administrator client exists: onboards it through dcr-service and
 * approves it (both audited, actor `config-api:bootstrap`) when no client of
 * BOOTSTRAP_SOFTWARE_ID does. An existing one is left as it is, even if the setting changed
 * since: from then on administrators manage clients through /v1/clients (e.g. onboard a
 * successor, then suspend this one).
 *
 * @returns the client id, or undefined when another replica is onboarding it right now.
 */
export async function ensureBootstrapAdminClient(options: {
  metadata: BootstrapAdminClient;
  onboarding: ClientOnboarding;
  mongo: Connection;
  logger: Logger;
  claimMs?: number;
  now?: () => Date;
}): Promise<string | undefined> {
  const { onboarding, logger } = options;
  const now = options.now ?? (() => new Date());
  const existing = await onboarding.list({ softwareId: BOOTSTRAP_SOFTWARE_ID, pageSize: 100 });
  const usable = existing.clients.find((client) => client.status !== 'rejected');
  if (usable && usable.status !== 'pending') {
    logger.info({ clientId: usable.clientId, status: usable.status }, 'the bootstrap administrator client exists');
    return usable.clientId;
  }
  const claims = options.mongo.collection<{ _id: string }>(CLAIMS);
  if (!(await claimBootstrap(options.mongo, options.claimMs ?? 60_000, now()))) {
    logger.info('another config-api replica is onboarding the bootstrap administrator client');
    return undefined;
  }
  let clientId = usable?.clientId;
  try {
    // A pending one is this bootstrap's own, left by a run that stopped before approving it.
    clientId ??= (
      await onboarding.create(BOOTSTRAP_PRINCIPAL, {
        metadata: { ...options.metadata, grant_types: ['client_credentials'] },
        softwareId: BOOTSTRAP_SOFTWARE_ID,
        orgId: BOOTSTRAP_ORG_ID,
        reason: 'BOOTSTRAP_ADMIN_CLIENT',
      })
    ).clientId;
    await onboarding.act(BOOTSTRAP_PRINCIPAL, clientId, 'approve', { reason: 'BOOTSTRAP_ADMIN_CLIENT' });
  } catch (error) {
    await claims.deleteOne({ _id: CLAIM_ID });
    throw error;
  }
  logger.info(
    { clientId, scope: options.metadata.scope },
    'onboarded the bootstrap administrator client: request admin API tokens from auth-server with this client_id',
  );
  return clientId;
}

/**
 * Runs ensureBootstrapAdminClient in the background until it succeeds, retrying with backoff
 * while dcr-service is unreachable (config-api may start first). Refusals of the metadata are
 * logged as errors and not retried: the setting needs fixing.
 */
export function startBootstrapAdminClient(
  options: Parameters<typeof ensureBootstrapAdminClient>[0] & { initialDelayMs?: number; maxDelayMs?: number },
): { done: Promise<string | undefined>; stop(): void } {
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  let wake: (() => void) | undefined;
  const sleep = (ms: number) =>
    new Promise<void>((resolve) => {
      wake = resolve;
      timer = setTimeout(resolve, ms);
    });
  const done = (async () => {
    let delayMs = options.initialDelayMs ?? 1_000;
    while (!stopped) {
      try {
        return await ensureBootstrapAdminClient(options);
      } catch (error) {
        const kind = (error as { kind?: string }).kind;
        if (kind === 'bad_request' || kind === 'conflict') {
          options.logger.error({ err: error }, 'BOOTSTRAP_ADMIN_CLIENT was refused; fix the setting and restart');
          return undefined;
        }
        options.logger.warn(
          { err: error, retryInMs: delayMs },
          'could not onboard the bootstrap administrator client yet',
        );
        await sleep(delayMs);
        delayMs = Math.min(delayMs * 2, options.maxDelayMs ?? 30_000);
      }
    }
    return undefined;
  })();
  return {
    done,
    stop() {
      stopped = true;
      clearTimeout(timer);
      wake?.();
    },
  };
}
