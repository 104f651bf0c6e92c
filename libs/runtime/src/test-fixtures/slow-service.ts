// A minimal service on the real runtime, with one slow route, for lifecycle tests in a child process.
import { createLogger, createMetrics } from '@obip/observability';
import { runService } from '../index';

const slowMs = Number(process.env.SLOW_MS ?? '1000');
const running = await runService({
  name: 'slow-service',
  settings: {
    BIND_HOST: '127.0.0.1',
    HTTP_PORT: 0,
    GRPC_PORT: 0,
    OPS_PORT: 0,
    SHUTDOWN_DELAY_MS: Number(process.env.SHUTDOWN_DELAY_MS ?? '0'),
    SHUTDOWN_GRACE_MS: Number(process.env.SHUTDOWN_GRACE_MS ?? '5000'),
  },
  logger: createLogger({ service: 'slow-service', level: 'silent' }),
  metrics: createMetrics({ service: 'slow-service' }),
  dependencies: [],
  http: (req, res) => {
    if (req.url === '/slow') {
      setTimeout(() => res.end('finished'), slowMs);
      return;
    }
    res.end('fast');
  },
});
process.stdout.write(`${JSON.stringify({ ports: running.ports })}\n`);
