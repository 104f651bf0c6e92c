import { describeServiceLifecycle } from '@obip/testing';

describeServiceLifecycle({
  service: 'config-api',
  entry: 'services/config-api/src/main.ts',
  usesMongo: true,
  errorFormat: 'problem',
});
