// A Tokens server in its own process, for the load-balancing test. It answers every call with
// its pid as revokedCount, so the caller can tell which process served it.
// Usage: node --import tsx tokens-server.ts <port>   (prints {"port":…,"pid":…} once listening)
import { tokensV1 } from '@obip/contracts';
import { createGrpcServer } from '../index';
import { createRecordingLogger } from './harness';

const requestedPort = Number(process.argv[2] ?? '0');
const server = createGrpcServer({ serviceName: 'tokens-fixture', logger: createRecordingLogger() });
server.addService(tokensV1.TokensService, {
  revokeByConsent: () => ({ revokedCount: process.pid }),
  revokeByClient: () => ({ revokedCount: process.pid }),
  revokeGrant: () => ({ revokedCount: process.pid }),
});
const port = await server.listen('127.0.0.1', requestedPort);
server.health.setServing('', true);
process.stdout.write(`${JSON.stringify({ port, pid: process.pid })}\n`);

process.once('SIGTERM', () => {
  void server.shutdown(1_000).then(() => process.exit(0));
});
