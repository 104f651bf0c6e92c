import { describeServiceLifecycle } from '@obip/testing';

describeServiceLifecycle({
  service: 'auth-server',
  entry: 'services/auth-server/src/main.ts',
  usesMongo: true,
  errorFormat: 'oauth',
});
