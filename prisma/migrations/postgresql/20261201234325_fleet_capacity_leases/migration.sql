-- DropIndex
DROP INDEX "TierLimit_tierId_window_key";

-- AlterTable
ALTER TABLE "TemporaryLimit" ADD COLUMN     "scope" TEXT NOT NULL DEFAULT 'subject';

-- AlterTable
ALTER TABLE "Tier" ADD COLUMN     "concurrencyPerSubject" INTEGER,
ADD COLUMN     "concurrencyPerTier" INTEGER;

-- AlterTable
ALTER TABLE "TierLimit" ADD COLUMN     "scope" TEXT NOT NULL DEFAULT 'subject';

-- CreateTable
CREATE TABLE "AdmissionRefusalStat" (
    "tierName" TEXT NOT NULL,
    "minute" INTEGER NOT NULL,
    "reason" TEXT NOT NULL,
    "count" INTEGER NOT NULL DEFAULT 0,

    CONSTRAINT "AdmissionRefusalStat_pkey" PRIMARY KEY ("tierName","minute","reason")
);

-- CreateTable
CREATE TABLE "GenerationLease" (
    "id" TEXT NOT NULL,
    "tierId" TEXT NOT NULL,
    "subject" TEXT NOT NULL,
    "cost" INTEGER NOT NULL DEFAULT 1,
    "ticketNonce" TEXT,
    "consumedAtMin" INTEGER NOT NULL,
    "createdAt" TIMESTAMP(3) NOT NULL,
    "expiresAt" TIMESTAMP(3) NOT NULL,
    "heartbeatAt" TIMESTAMP(3),
    "releasedAt" TIMESTAMP(3),
    "outcome" TEXT,
    "instanceId" TEXT NOT NULL,
    "holder" TEXT,

    CONSTRAINT "GenerationLease_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "LeaseTotal" (
    "tierId" TEXT NOT NULL,
    "acquired" BIGINT NOT NULL DEFAULT 0,
    "done" BIGINT NOT NULL DEFAULT 0,
    "failed" BIGINT NOT NULL DEFAULT 0,
    "expired" BIGINT NOT NULL DEFAULT 0,

    CONSTRAINT "LeaseTotal_pkey" PRIMARY KEY ("tierId")
);

-- CreateTable
CREATE TABLE "CapacityConfig" (
    "id" INTEGER NOT NULL,
    "enabled" BOOLEAN NOT NULL DEFAULT false,
    "slotsPerGpu" INTEGER NOT NULL DEFAULT 1,
    "slotsPerModel" TEXT NOT NULL DEFAULT '{}',
    "hotWeight" DOUBLE PRECISION NOT NULL DEFAULT 0.5,
    "updatedAt" TIMESTAMP(3) NOT NULL,
    "updatedBy" TEXT,

    CONSTRAINT "CapacityConfig_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "CapacityShare" (
    "tierId" TEXT NOT NULL,
    "priority" INTEGER NOT NULL DEFAULT 0,
    "reserved" DOUBLE PRECISION NOT NULL DEFAULT 0,
    "updatedAt" TIMESTAMP(3) NOT NULL,
    "updatedBy" TEXT,

    CONSTRAINT "CapacityShare_pkey" PRIMARY KEY ("tierId")
);

-- CreateTable
CREATE TABLE "CapacitySnapshot" (
    "id" INTEGER NOT NULL,
    "seq" INTEGER NOT NULL DEFAULT 0,
    "computedAt" TIMESTAMP(3) NOT NULL,
    "computedBy" TEXT NOT NULL,
    "state" TEXT NOT NULL,
    "slots" DOUBLE PRECISION NOT NULL,
    "usableGpus" INTEGER NOT NULL,
    "hotGpus" INTEGER NOT NULL,
    "gpusTotal" INTEGER NOT NULL,
    "nodesOnline" INTEGER NOT NULL,
    "nodesOffline" INTEGER NOT NULL,
    "gpusUnusable" INTEGER NOT NULL DEFAULT 0,
    "telemetryAt" TIMESTAMP(3),

    CONSTRAINT "CapacitySnapshot_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "CapacitySample" (
    "at" TIMESTAMP(3) NOT NULL,
    "slots" DOUBLE PRECISION NOT NULL,
    "usableGpus" INTEGER NOT NULL,
    "tiers" TEXT NOT NULL,

    CONSTRAINT "CapacitySample_pkey" PRIMARY KEY ("at")
);

-- CreateIndex
CREATE INDEX "GenerationLease_tierId_releasedAt_expiresAt_idx" ON "GenerationLease"("tierId", "releasedAt", "expiresAt");

-- CreateIndex
CREATE INDEX "GenerationLease_tierId_subject_releasedAt_idx" ON "GenerationLease"("tierId", "subject", "releasedAt");

-- CreateIndex
CREATE INDEX "GenerationLease_releasedAt_expiresAt_idx" ON "GenerationLease"("releasedAt", "expiresAt");

-- CreateIndex
CREATE INDEX "GenerationLease_outcome_releasedAt_idx" ON "GenerationLease"("outcome", "releasedAt");

-- CreateIndex
CREATE UNIQUE INDEX "TierLimit_tierId_window_scope_key" ON "TierLimit"("tierId", "window", "scope");

-- AddForeignKey
ALTER TABLE "GenerationLease" ADD CONSTRAINT "GenerationLease_tierId_fkey" FOREIGN KEY ("tierId") REFERENCES "Tier"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "CapacityShare" ADD CONSTRAINT "CapacityShare_tierId_fkey" FOREIGN KEY ("tierId") REFERENCES "Tier"("id") ON DELETE CASCADE ON UPDATE CASCADE;
