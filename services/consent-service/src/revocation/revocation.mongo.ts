import type { Connection } from 'mongoose';
import { consentModelOf, guard } from '../consents/consents.mongo';
import type { PendingCascade, RevocationOutbox } from './revocation.service';

/**
 * The revocation outbox in MongoDB: the `cascade` field of each consent, written by the same
 * single-document update that revokes or expires it, so no revocation can be recorded without
 * its outbox entry (no multi-document transaction needed).
 *
 * A claim is a conditional update (`cascade.state: pending` and the `nextAttemptAt` seen →
 * `nextAttemptAt = now + lease`). On MongoDB it is atomic; FerretDB 1.x runs it as a query
 * then an update, so two replicas may both claim one entry and call RevokeByConsent twice,
 * which is harmless: the call is idempotent.
 */
export function createMongoRevocationOutbox(connection: Connection): RevocationOutbox {
  const Consents = consentModelOf(connection);
  return {
    async claimDue(now, leaseMs, limit) {
      const due = await guard(() =>
        Consents.find({ 'cascade.state': 'pending', 'cascade.nextAttemptAt': { $lte: now } })
          .sort({ 'cascade.nextAttemptAt': 1 })
          .limit(limit)
          .select({ cascade: 1 })
          .lean()
          .exec(),
      );
      const claimed: PendingCascade[] = [];
      for (const entry of due) {
        if (!entry.cascade) continue;
        const won = await guard(() =>
          Consents.findOneAndUpdate(
            { _id: entry._id, 'cascade.state': 'pending', 'cascade.nextAttemptAt': entry.cascade!.nextAttemptAt },
            { $set: { 'cascade.nextAttemptAt': new Date(now.getTime() + leaseMs) } },
            { new: true },
          )
            .lean()
            .exec(),
        );
        if (won?.cascade)
          claimed.push({ consentId: won._id, reason: won.cascade.reason, attempts: won.cascade.attempts });
      }
      return claimed;
    },

    async markDelivered(consentId, at) {
      await guard(() =>
        Consents.updateOne(
          { _id: consentId, 'cascade.state': 'pending' },
          { $set: { 'cascade.state': 'delivered', 'cascade.deliveredAt': at, 'cascade.lastError': '' } },
        ).exec(),
      );
    },

    async markFailed(consentId, attempts, nextAttemptAt, error) {
      await guard(() =>
        Consents.updateOne(
          { _id: consentId, 'cascade.state': 'pending' },
          {
            $set: { 'cascade.attempts': attempts, 'cascade.nextAttemptAt': nextAttemptAt, 'cascade.lastError': error },
          },
        ).exec(),
      );
    },

    async countPending() {
      return guard(() => Consents.countDocuments({ 'cascade.state': 'pending' }).exec());
    },
  };
}
