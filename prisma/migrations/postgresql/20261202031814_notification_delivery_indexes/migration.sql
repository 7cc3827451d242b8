-- AlterTable
ALTER TABLE "NotificationChannel" ADD COLUMN     "generation" INTEGER NOT NULL DEFAULT 0;

-- CreateIndex
CREATE INDEX "Alert_firingAt_idx" ON "Alert"("firingAt");

-- CreateIndex
CREATE INDEX "Alert_resolvedAt_idx" ON "Alert"("resolvedAt");

-- CreateIndex
CREATE INDEX "NotificationEvent_webhookAt_seq_idx" ON "NotificationEvent"("webhookAt", "seq");

-- CreateIndex
CREATE INDEX "NotificationEvent_alertmanagerAt_seq_idx" ON "NotificationEvent"("alertmanagerAt", "seq");
