-- AlterTable
ALTER TABLE "AdmissionRequest" ADD COLUMN     "fingerprint" TEXT NOT NULL DEFAULT '';

-- AlterTable
ALTER TABLE "AuditEvent" ADD COLUMN     "aggregateKey" TEXT,
ADD COLUMN     "count" INTEGER NOT NULL DEFAULT 1;

-- AlterTable
ALTER TABLE "GpuMinute" DROP CONSTRAINT "GpuMinute_pkey",
ALTER COLUMN "minute" SET DATA TYPE BIGINT,
ADD CONSTRAINT "GpuMinute_pkey" PRIMARY KEY ("nodeId", "gpuIndex", "minute");

-- AlterTable
ALTER TABLE "GpuState" ALTER COLUMN "eccCorrected" SET DATA TYPE BIGINT,
ALTER COLUMN "eccUncorrected" SET DATA TYPE BIGINT;

-- AlterTable
ALTER TABLE "Node" ALTER COLUMN "lastSeq" SET DATA TYPE BIGINT,
ALTER COLUMN "spoolDropped" SET DATA TYPE BIGINT;

-- CreateTable
CREATE TABLE "LoginThrottle" (
    "key" TEXT NOT NULL,
    "failures" INTEGER NOT NULL DEFAULT 0,
    "windowStart" TIMESTAMP(3) NOT NULL,
    "blockedUntil" TIMESTAMP(3),
    "updatedAt" TIMESTAMP(3) NOT NULL,

    CONSTRAINT "LoginThrottle_pkey" PRIMARY KEY ("key")
);

-- CreateIndex
CREATE INDEX "LoginThrottle_updatedAt_idx" ON "LoginThrottle"("updatedAt");

-- CreateIndex
CREATE UNIQUE INDEX "AuditEvent_aggregateKey_key" ON "AuditEvent"("aggregateKey");
