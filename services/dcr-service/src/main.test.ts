import { describeServiceLifecycle } from '@obip/testing';

describeServiceLifecycle({
  service: 'dcr-service',
  entry: 'services/dcr-service/src/main.ts',
  usesMongo: true,
  errorFormat: 'oauth',
});
