export {
  runService,
  type Dependency,
  type GrpcEndpoint,
  type RunningService,
  type RunServiceOptions,
} from './run-service';
export { bootstrapService, type ServiceFoundation } from './bootstrap';
