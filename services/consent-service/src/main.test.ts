import { describeServiceLifecycle } from '@obip/testing';

describeServiceLifecycle({
  service: 'consent-service',
  entry: 'services/consent-service/src/main.ts',
  usesMongo: true,
  errorFormat: 'obie',
});
