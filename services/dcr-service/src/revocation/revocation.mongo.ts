import { randomUUID } from 'node:crypto';
import { Schema, type Connection } from 'mongoose';
import { translateMongoError } from '@obip/mongo';
import type { OutboxEntry, RevocationOutboxStore } from './revocation.service';

interface OutboxDocument {
  _id: string;
  clientId: string;
  reason: string;
  status: 'pending' | 'delivered';
  attempts: number;
  nextAttemptAt: Date;
  lastError: string;
  createdAt: Date;
  deliveredAt: Date | null;
}

const outboxSchema = new Schema<OutboxDocument>(
  {
    _id: { type: String, required: true },
    clientId: { type: String, required: true },
    reason: { type: String, required: true },
    status: { type: String, required: true, enum: ['pending', 'delivered'] },
    attempts: { type: Number, required: true },
    nextAttemptAt: { type: Date, required: true },
    lastError: { type: String, default: '' },
    createdAt: { type: Date, required: true },
    deliveredAt: { type: Date, default: null },
  },
  { collection: 'revocation_outbox', versionKey: false },
);
outboxSchema.index({ status: 1, nextAttemptAt: 1 });

/**
 * The revocation outbox in MongoDB. A claim is a conditional single-document update
 * (`status: pending, nextAttemptAt <= now` → `nextAttemptAt = now + lease`). On MongoDB that
 * is atomic; FerretDB 1.x runs it as a query then an update, so two replicas may both claim an
 * entry and revoke twice — harmless, as RevokeByClient is idempotent. No TTL index (FerretDB
 * lacks them): delivered entries stay as the record of the cascade.
 */
export async function createMongoRevocationOutbox(connection: Connection): Promise<RevocationOutboxStore> {
  const Outbox = connection.model<OutboxDocument>('RevocationOutbox', outboxSchema);
  await guard(() => Outbox.createIndexes());

  return {
    async enqueue(clientId, reason) {
      const now = new Date();
      await guard(() =>
        Outbox.create({
          _id: randomUUID(),
          clientId,
          reason,
          status: 'pending',
          attempts: 0,
          nextAttemptAt: now,
          createdAt: now,
        }),
      );
    },

    async claimDue(now, leaseMs, limit) {
      const due = await guard(() =>
        Outbox.find({ status: 'pending', nextAttemptAt: { $lte: now } })
          .sort({ nextAttemptAt: 1 })
          .limit(limit)
          .lean<OutboxDocument[]>()
          .exec(),
      );
      const claimed: OutboxEntry[] = [];
      for (const entry of due) {
        const won = await guard(() =>
          Outbox.findOneAndUpdate(
            { _id: entry._id, status: 'pending', nextAttemptAt: entry.nextAttemptAt },
            { $set: { nextAttemptAt: new Date(now.getTime() + leaseMs) } },
            { new: true },
          )
            .lean<OutboxDocument>()
            .exec(),
        );
        if (won) claimed.push({ id: won._id, clientId: won.clientId, reason: won.reason, attempts: won.attempts });
      }
      return claimed;
    },

    async markDelivered(id, now) {
      await guard(() => Outbox.updateOne({ _id: id }, { $set: { status: 'delivered', deliveredAt: now } }).exec());
    },

    async markFailed(id, attempts, nextAttemptAt, error) {
      await guard(() =>
        Outbox.updateOne(
          { _id: id, status: 'pending' },
          { $set: { attempts, nextAttemptAt, lastError: error } },
        ).exec(),
      );
    },
  };
}

async function guard<T>(work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (error) {
    translateMongoError(error);
  }
}
