import type { Model } from 'mongoose';
import { guard } from '../consents/consents.mongo';
import type { Outbox, OutboxDeliveryFields, OutboxEntry } from './outbox.service';

export interface MongoOutboxOptions<Document extends { _id: string }, Entry extends OutboxEntry> {
  model: Model<Document>;
  /** The path of the {@link OutboxDeliveryFields} in each document, e.g. `cascade`. */
  path: string;
  /** The entry a claimed document stands for; undefined skips a document without one. */
  toEntry(document: Document): Entry | undefined;
  /** The `_id` of the document an entry came from. */
  idOf(entry: Entry): string;
}

/**
 * An outbox over the documents of one collection that carry {@link OutboxDeliveryFields} at
 * `path`. A claim is a conditional update (`state: pending` and the `nextAttemptAt` seen →
 * `nextAttemptAt = now + lease`). On MongoDB it is atomic; FerretDB 1.x runs it as a query then
 * an update, so two replicas may both claim one entry and deliver it twice, which is harmless:
 * deliveries are idempotent.
 *
 * @example
 * const outbox = createMongoOutbox({ model: consentModelOf(connection), path: 'cascade', toEntry, idOf: (entry) => entry.consentId });
 */
export function createMongoOutbox<Document extends { _id: string }, Entry extends OutboxEntry>(
  options: MongoOutboxOptions<Document, Entry>,
): Outbox<Entry> {
  const { model, path } = options;
  const field = (name: keyof OutboxDeliveryFields) => `${path}.${name}`;
  const fieldsOf = (document: Document) =>
    (document as unknown as Record<string, OutboxDeliveryFields | null | undefined>)[path];
  // The filters and updates name dotted paths chosen at run time, which mongoose's typed
  // filters cannot express; they are built here and nowhere else.
  const filter = (conditions: Record<string, unknown>) => conditions as never;

  return {
    async claimDue(now, leaseMs, limit) {
      const due = await guard(() =>
        model
          .find(filter({ [field('state')]: 'pending', [field('nextAttemptAt')]: { $lte: now } }))
          .sort({ [field('nextAttemptAt')]: 1 })
          .limit(limit)
          .select({ [path]: 1 })
          .lean<Document[]>()
          .exec(),
      );
      const claimed: Entry[] = [];
      for (const seen of due) {
        const fields = fieldsOf(seen);
        if (!fields) continue;
        const won = await guard(() =>
          model
            .findOneAndUpdate(
              filter({ _id: seen._id, [field('state')]: 'pending', [field('nextAttemptAt')]: fields.nextAttemptAt }),
              filter({ $set: { [field('nextAttemptAt')]: new Date(now.getTime() + leaseMs) } }),
              { returnDocument: 'after' },
            )
            .lean<Document>()
            .exec(),
        );
        const entry = won ? options.toEntry(won) : undefined;
        if (entry) claimed.push(entry);
      }
      return claimed;
    },

    async markDelivered(entry, at) {
      await guard(() =>
        model
          .updateOne(
            filter({ _id: options.idOf(entry), [field('state')]: 'pending' }),
            filter({ $set: { [field('state')]: 'delivered', [field('deliveredAt')]: at, [field('lastError')]: '' } }),
          )
          .exec(),
      );
    },

    async markFailed(entry, attempts, nextAttemptAt, error) {
      await guard(() =>
        model
          .updateOne(
            filter({ _id: options.idOf(entry), [field('state')]: 'pending' }),
            filter({
              $set: {
                [field('attempts')]: attempts,
                [field('nextAttemptAt')]: nextAttemptAt,
                [field('lastError')]: error,
              },
            }),
          )
          .exec(),
      );
    },

    async markAbandoned(entry, reason) {
      await guard(() =>
        model
          .updateOne(
            filter({ _id: options.idOf(entry), [field('state')]: 'pending' }),
            filter({ $set: { [field('state')]: 'abandoned', [field('lastError')]: reason } }),
          )
          .exec(),
      );
    },

    async countPending() {
      return guard(() => model.countDocuments(filter({ [field('state')]: 'pending' })).exec());
    },
  };
}
