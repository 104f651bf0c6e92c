import { describeServiceLifecycle } from '@obip/testing';

describeServiceLifecycle({
  service: 'token-introspection',
  entry: 'services/token-introspection/src/main.ts',
  usesMongo: false,
  errorFormat: 'oauth',
});
