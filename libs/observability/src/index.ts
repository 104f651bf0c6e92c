export { createLogger, REDACTED_PATHS, type Logger } from './logger';
export { createMetrics, type ServiceMetrics } from './metrics';
export { startOpsServer, type OpsServer, type ReadinessCheck } from './ops-server';
