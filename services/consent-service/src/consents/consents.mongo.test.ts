import { closeMongo, connectMongo } from '@obip/mongo';
import { attachServerLogsOnFailure, dropTestDatabase, testMongoUrl } from '@obip/testing';
import { createMongoConsentRepository } from './consents.mongo';
import { describeConsentRepositoryContract } from './consents.repository.contract';

attachServerLogsOnFailure();

describeConsentRepositoryContract('MongoDB (mongoose) on the test server', async () => {
  const url = testMongoUrl('contract');
  const connection = await connectMongo({ url, serverSelectionTimeoutMS: 5_000 });
  return {
    repository: await createMongoConsentRepository(connection),
    async tearDown() {
      await closeMongo(connection);
      await dropTestDatabase(url);
    },
  };
});
