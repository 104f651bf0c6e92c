export {
  closeMongo,
  connectMongo,
  mongoHealthCheck,
  type ConnectMongoOptions,
  type MongoLogger,
} from './mongo.connection';
export { isDuplicateKeyError, isMongoUnavailableError, translateMongoError } from './mongo.errors';
export { ensureExpiryIndex, type IndexableCollection } from './mongo.expiry';
