// A Tokens server in its own process, for the load-balancing and cross-process deadline tests.
// It answers every call with its pid as revokedCount, so the caller can tell which process
// served it; RevokeGrant with reason "slow:<ms>" answers only after <ms> milliseconds.
// Usage: node --import tsx tokens-server.ts <port>   (prints {"port":…,"pid":…} once listening)
import { tokensV1 } from '@obip/contracts';
import { createGrpcServer } from '../index';
import { createRecordingLogger } from './harness';

const requestedPort = Number(process.argv[2] ?? '0');
const server = createGrpcServer({ serviceName: 'tokens-fixture', logger: createRecordingLogger() });
server.addService(tokensV1.TokensService, {
  revokeByConsent: () => ({ revokedCount: process.pid }),
  revokeByClient: () => ({ revokedCount: process.pid }),
  revokeGrant: async ({ reason }) => {
    const delayMs = /^slow:(\d+)$/.exec(reason)?.[1];
    if (delayMs) await new Promise((resolve) => setTimeout(resolve, Number(delayMs)));
    return { revokedCount: process.pid };
  },
  completeAuthentication: () => ({}),
});
const port = await server.listen('127.0.0.1', requestedPort);
server.health.setServing('', true);
process.stdout.write(`${JSON.stringify({ port, pid: process.pid })}\n`);

process.once('SIGTERM', () => {
  void server.shutdown(1_000).then(() => process.exit(0));
});
