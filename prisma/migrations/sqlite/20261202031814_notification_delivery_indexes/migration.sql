-- RedefineTables
PRAGMA defer_foreign_keys=ON;
PRAGMA foreign_keys=OFF;
CREATE TABLE "new_NotificationChannel" (
    "channel" TEXT NOT NULL PRIMARY KEY,
    "fromSeq" INTEGER NOT NULL DEFAULT 0,
    "generation" INTEGER NOT NULL DEFAULT 0,
    "lastAttemptAt" DATETIME,
    "lastSuccessAt" DATETIME,
    "lastStatus" INTEGER,
    "lastError" TEXT,
    "consecutiveFailures" INTEGER NOT NULL DEFAULT 0,
    "nextAttemptAt" DATETIME,
    "delivered" BIGINT NOT NULL DEFAULT 0,
    "failed" BIGINT NOT NULL DEFAULT 0
);
INSERT INTO "new_NotificationChannel" ("channel", "consecutiveFailures", "delivered", "failed", "fromSeq", "lastAttemptAt", "lastError", "lastStatus", "lastSuccessAt", "nextAttemptAt") SELECT "channel", "consecutiveFailures", "delivered", "failed", "fromSeq", "lastAttemptAt", "lastError", "lastStatus", "lastSuccessAt", "nextAttemptAt" FROM "NotificationChannel";
DROP TABLE "NotificationChannel";
ALTER TABLE "new_NotificationChannel" RENAME TO "NotificationChannel";
PRAGMA foreign_keys=ON;
PRAGMA defer_foreign_keys=OFF;

-- CreateIndex
CREATE INDEX "Alert_firingAt_idx" ON "Alert"("firingAt");

-- CreateIndex
CREATE INDEX "Alert_resolvedAt_idx" ON "Alert"("resolvedAt");

-- CreateIndex
CREATE INDEX "NotificationEvent_webhookAt_seq_idx" ON "NotificationEvent"("webhookAt", "seq");

-- CreateIndex
CREATE INDEX "NotificationEvent_alertmanagerAt_seq_idx" ON "NotificationEvent"("alertmanagerAt", "seq");
