-- AlterTable
ALTER TABLE "Node" ADD COLUMN     "collectorFailures" INTEGER NOT NULL DEFAULT 0,
ADD COLUMN     "gpuCount" INTEGER NOT NULL DEFAULT 0,
ADD COLUMN     "health" TEXT,
ADD COLUMN     "host" TEXT,
ADD COLUMN     "intervalSeconds" INTEGER NOT NULL DEFAULT 5,
ADD COLUMN     "lastSampleAt" TIMESTAMP(3),
ADD COLUMN     "spoolDropped" INTEGER NOT NULL DEFAULT 0;

-- CreateTable
CREATE TABLE "GpuState" (
    "nodeId" TEXT NOT NULL,
    "gpuIndex" INTEGER NOT NULL,
    "uuid" TEXT,
    "name" TEXT,
    "pciBusId" TEXT,
    "driverVersion" TEXT,
    "utilizationGpu" DOUBLE PRECISION,
    "utilizationMemory" DOUBLE PRECISION,
    "temperatureGpu" DOUBLE PRECISION,
    "temperatureMemory" DOUBLE PRECISION,
    "memoryUsedMiB" DOUBLE PRECISION,
    "memoryTotalMiB" DOUBLE PRECISION,
    "powerDrawW" DOUBLE PRECISION,
    "powerLimitW" DOUBLE PRECISION,
    "clockGraphicsMHz" DOUBLE PRECISION,
    "clockMemoryMHz" DOUBLE PRECISION,
    "fanPercent" DOUBLE PRECISION,
    "pstate" TEXT,
    "throttleReasons" TEXT,
    "eccCorrected" INTEGER,
    "eccUncorrected" INTEGER,
    "migEnabled" BOOLEAN,
    "sampledAt" TIMESTAMP(3) NOT NULL,

    CONSTRAINT "GpuState_pkey" PRIMARY KEY ("nodeId","gpuIndex")
);

-- CreateTable
CREATE TABLE "GpuSample" (
    "nodeId" TEXT NOT NULL,
    "gpuIndex" INTEGER NOT NULL,
    "atMs" BIGINT NOT NULL,
    "utilizationGpu" DOUBLE PRECISION,
    "temperatureGpu" DOUBLE PRECISION,
    "memoryUsedMiB" DOUBLE PRECISION,
    "powerDrawW" DOUBLE PRECISION,

    CONSTRAINT "GpuSample_pkey" PRIMARY KEY ("nodeId","gpuIndex","atMs")
);

-- CreateTable
CREATE TABLE "GpuMinute" (
    "nodeId" TEXT NOT NULL,
    "gpuIndex" INTEGER NOT NULL,
    "minute" INTEGER NOT NULL,
    "samples" INTEGER NOT NULL,
    "utilSum" DOUBLE PRECISION NOT NULL,
    "utilCount" INTEGER NOT NULL,
    "utilMax" DOUBLE PRECISION,
    "tempMax" DOUBLE PRECISION,
    "powerSum" DOUBLE PRECISION NOT NULL,
    "powerCount" INTEGER NOT NULL,
    "memMax" DOUBLE PRECISION,

    CONSTRAINT "GpuMinute_pkey" PRIMARY KEY ("nodeId","gpuIndex","minute")
);

-- CreateTable
CREATE TABLE "Alert" (
    "id" TEXT NOT NULL,
    "kind" TEXT NOT NULL,
    "nodeId" TEXT NOT NULL,
    "gpuIndex" INTEGER,
    "state" TEXT NOT NULL,
    "message" TEXT NOT NULL,
    "value" DOUBLE PRECISION,
    "startedAt" TIMESTAMP(3) NOT NULL,
    "firingAt" TIMESTAMP(3),
    "resolvedAt" TIMESTAMP(3),
    "openKey" TEXT,

    CONSTRAINT "Alert_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE INDEX "GpuSample_atMs_idx" ON "GpuSample"("atMs");

-- CreateIndex
CREATE INDEX "GpuMinute_minute_idx" ON "GpuMinute"("minute");

-- CreateIndex
CREATE UNIQUE INDEX "Alert_openKey_key" ON "Alert"("openKey");

-- CreateIndex
CREATE INDEX "Alert_state_idx" ON "Alert"("state");

-- CreateIndex
CREATE INDEX "Alert_nodeId_idx" ON "Alert"("nodeId");

-- AddForeignKey
ALTER TABLE "GpuState" ADD CONSTRAINT "GpuState_nodeId_fkey" FOREIGN KEY ("nodeId") REFERENCES "Node"("id") ON DELETE CASCADE ON UPDATE CASCADE;
