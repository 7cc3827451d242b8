-- AlterTable
ALTER TABLE "Tier" ADD COLUMN "concurrencyPerSubject" INTEGER;
ALTER TABLE "Tier" ADD COLUMN "concurrencyPerTier" INTEGER;

-- CreateTable
CREATE TABLE "AdmissionRefusalStat" (
    "tierName" TEXT NOT NULL,
    "minute" INTEGER NOT NULL,
    "reason" TEXT NOT NULL,
    "count" INTEGER NOT NULL DEFAULT 0,

    PRIMARY KEY ("tierName", "minute", "reason")
);

-- CreateTable
CREATE TABLE "GenerationLease" (
    "id" TEXT NOT NULL PRIMARY KEY,
    "tierId" TEXT NOT NULL,
    "subject" TEXT NOT NULL,
    "cost" INTEGER NOT NULL DEFAULT 1,
    "ticketNonce" TEXT,
    "consumedAtMin" INTEGER NOT NULL,
    "createdAt" DATETIME NOT NULL,
    "expiresAt" DATETIME NOT NULL,
    "heartbeatAt" DATETIME,
    "releasedAt" DATETIME,
    "outcome" TEXT,
    "instanceId" TEXT NOT NULL,
    "holder" TEXT,
    CONSTRAINT "GenerationLease_tierId_fkey" FOREIGN KEY ("tierId") REFERENCES "Tier" ("id") ON DELETE CASCADE ON UPDATE CASCADE
);

-- CreateTable
CREATE TABLE "LeaseTotal" (
    "tierId" TEXT NOT NULL PRIMARY KEY,
    "acquired" BIGINT NOT NULL DEFAULT 0,
    "done" BIGINT NOT NULL DEFAULT 0,
    "failed" BIGINT NOT NULL DEFAULT 0,
    "expired" BIGINT NOT NULL DEFAULT 0
);

-- CreateTable
CREATE TABLE "CapacityConfig" (
    "id" INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT,
    "enabled" BOOLEAN NOT NULL DEFAULT false,
    "slotsPerGpu" INTEGER NOT NULL DEFAULT 1,
    "slotsPerModel" TEXT NOT NULL DEFAULT '{}',
    "hotWeight" REAL NOT NULL DEFAULT 0.5,
    "updatedAt" DATETIME NOT NULL,
    "updatedBy" TEXT
);

-- CreateTable
CREATE TABLE "CapacityShare" (
    "tierId" TEXT NOT NULL PRIMARY KEY,
    "priority" INTEGER NOT NULL DEFAULT 0,
    "reserved" REAL NOT NULL DEFAULT 0,
    "updatedAt" DATETIME NOT NULL,
    "updatedBy" TEXT,
    CONSTRAINT "CapacityShare_tierId_fkey" FOREIGN KEY ("tierId") REFERENCES "Tier" ("id") ON DELETE CASCADE ON UPDATE CASCADE
);

-- CreateTable
CREATE TABLE "CapacitySnapshot" (
    "id" INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT,
    "seq" INTEGER NOT NULL DEFAULT 0,
    "computedAt" DATETIME NOT NULL,
    "computedBy" TEXT NOT NULL,
    "state" TEXT NOT NULL,
    "slots" REAL NOT NULL,
    "usableGpus" INTEGER NOT NULL,
    "hotGpus" INTEGER NOT NULL,
    "gpusTotal" INTEGER NOT NULL,
    "nodesOnline" INTEGER NOT NULL,
    "nodesOffline" INTEGER NOT NULL,
    "gpusUnusable" INTEGER NOT NULL DEFAULT 0,
    "telemetryAt" DATETIME
);

-- CreateTable
CREATE TABLE "CapacitySample" (
    "at" DATETIME NOT NULL PRIMARY KEY,
    "slots" REAL NOT NULL,
    "usableGpus" INTEGER NOT NULL,
    "tiers" TEXT NOT NULL
);

-- RedefineTables
PRAGMA defer_foreign_keys=ON;
PRAGMA foreign_keys=OFF;
CREATE TABLE "new_TemporaryLimit" (
    "id" TEXT NOT NULL PRIMARY KEY,
    "tierId" TEXT NOT NULL,
    "window" TEXT NOT NULL,
    "scope" TEXT NOT NULL DEFAULT 'subject',
    "limit" INTEGER NOT NULL,
    "until" DATETIME NOT NULL,
    "reason" TEXT NOT NULL,
    "createdBy" TEXT NOT NULL,
    "createdByKind" TEXT NOT NULL DEFAULT 'user',
    "createdAt" DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "clearedAt" DATETIME,
    "clearedBy" TEXT,
    "clearedByKind" TEXT,
    CONSTRAINT "TemporaryLimit_tierId_fkey" FOREIGN KEY ("tierId") REFERENCES "Tier" ("id") ON DELETE CASCADE ON UPDATE CASCADE
);
INSERT INTO "new_TemporaryLimit" ("clearedAt", "clearedBy", "clearedByKind", "createdAt", "createdBy", "createdByKind", "id", "limit", "reason", "tierId", "until", "window") SELECT "clearedAt", "clearedBy", "clearedByKind", "createdAt", "createdBy", "createdByKind", "id", "limit", "reason", "tierId", "until", "window" FROM "TemporaryLimit";
DROP TABLE "TemporaryLimit";
ALTER TABLE "new_TemporaryLimit" RENAME TO "TemporaryLimit";
CREATE INDEX "TemporaryLimit_tierId_until_idx" ON "TemporaryLimit"("tierId", "until");
CREATE TABLE "new_TierLimit" (
    "id" TEXT NOT NULL PRIMARY KEY,
    "tierId" TEXT NOT NULL,
    "window" TEXT NOT NULL,
    "scope" TEXT NOT NULL DEFAULT 'subject',
    "limit" INTEGER NOT NULL,
    "updatedAt" DATETIME NOT NULL,
    "updatedBy" TEXT,
    CONSTRAINT "TierLimit_tierId_fkey" FOREIGN KEY ("tierId") REFERENCES "Tier" ("id") ON DELETE CASCADE ON UPDATE CASCADE
);
INSERT INTO "new_TierLimit" ("id", "limit", "tierId", "updatedAt", "updatedBy", "window") SELECT "id", "limit", "tierId", "updatedAt", "updatedBy", "window" FROM "TierLimit";
DROP TABLE "TierLimit";
ALTER TABLE "new_TierLimit" RENAME TO "TierLimit";
CREATE UNIQUE INDEX "TierLimit_tierId_window_scope_key" ON "TierLimit"("tierId", "window", "scope");
PRAGMA foreign_keys=ON;
PRAGMA defer_foreign_keys=OFF;

-- CreateIndex
CREATE INDEX "GenerationLease_tierId_releasedAt_expiresAt_idx" ON "GenerationLease"("tierId", "releasedAt", "expiresAt");

-- CreateIndex
CREATE INDEX "GenerationLease_tierId_subject_releasedAt_idx" ON "GenerationLease"("tierId", "subject", "releasedAt");

-- CreateIndex
CREATE INDEX "GenerationLease_releasedAt_expiresAt_idx" ON "GenerationLease"("releasedAt", "expiresAt");

-- CreateIndex
CREATE INDEX "GenerationLease_outcome_releasedAt_idx" ON "GenerationLease"("outcome", "releasedAt");
