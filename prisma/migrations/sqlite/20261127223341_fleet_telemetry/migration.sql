-- CreateTable
CREATE TABLE "GpuState" (
    "nodeId" TEXT NOT NULL,
    "gpuIndex" INTEGER NOT NULL,
    "uuid" TEXT,
    "name" TEXT,
    "pciBusId" TEXT,
    "driverVersion" TEXT,
    "utilizationGpu" REAL,
    "utilizationMemory" REAL,
    "temperatureGpu" REAL,
    "temperatureMemory" REAL,
    "memoryUsedMiB" REAL,
    "memoryTotalMiB" REAL,
    "powerDrawW" REAL,
    "powerLimitW" REAL,
    "clockGraphicsMHz" REAL,
    "clockMemoryMHz" REAL,
    "fanPercent" REAL,
    "pstate" TEXT,
    "throttleReasons" TEXT,
    "eccCorrected" INTEGER,
    "eccUncorrected" INTEGER,
    "migEnabled" BOOLEAN,
    "sampledAt" DATETIME NOT NULL,

    PRIMARY KEY ("nodeId", "gpuIndex"),
    CONSTRAINT "GpuState_nodeId_fkey" FOREIGN KEY ("nodeId") REFERENCES "Node" ("id") ON DELETE CASCADE ON UPDATE CASCADE
);

-- CreateTable
CREATE TABLE "GpuSample" (
    "nodeId" TEXT NOT NULL,
    "gpuIndex" INTEGER NOT NULL,
    "atMs" BIGINT NOT NULL,
    "utilizationGpu" REAL,
    "temperatureGpu" REAL,
    "memoryUsedMiB" REAL,
    "powerDrawW" REAL,

    PRIMARY KEY ("nodeId", "gpuIndex", "atMs")
);

-- CreateTable
CREATE TABLE "GpuMinute" (
    "nodeId" TEXT NOT NULL,
    "gpuIndex" INTEGER NOT NULL,
    "minute" INTEGER NOT NULL,
    "samples" INTEGER NOT NULL,
    "utilSum" REAL NOT NULL,
    "utilCount" INTEGER NOT NULL,
    "utilMax" REAL,
    "tempMax" REAL,
    "powerSum" REAL NOT NULL,
    "powerCount" INTEGER NOT NULL,
    "memMax" REAL,

    PRIMARY KEY ("nodeId", "gpuIndex", "minute")
);

-- CreateTable
CREATE TABLE "Alert" (
    "id" TEXT NOT NULL PRIMARY KEY,
    "kind" TEXT NOT NULL,
    "nodeId" TEXT NOT NULL,
    "gpuIndex" INTEGER,
    "state" TEXT NOT NULL,
    "message" TEXT NOT NULL,
    "value" REAL,
    "startedAt" DATETIME NOT NULL,
    "firingAt" DATETIME,
    "resolvedAt" DATETIME,
    "openKey" TEXT
);

-- RedefineTables
PRAGMA defer_foreign_keys=ON;
PRAGMA foreign_keys=OFF;
CREATE TABLE "new_Node" (
    "id" TEXT NOT NULL PRIMARY KEY,
    "hostname" TEXT NOT NULL,
    "tokenHash" TEXT NOT NULL,
    "agentVersion" TEXT,
    "os" TEXT,
    "enrolledAt" DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "lastSeenAt" DATETIME,
    "lastSeq" INTEGER NOT NULL DEFAULT 0,
    "revokedAt" DATETIME,
    "revokedBy" TEXT,
    "intervalSeconds" INTEGER NOT NULL DEFAULT 5,
    "lastSampleAt" DATETIME,
    "gpuCount" INTEGER NOT NULL DEFAULT 0,
    "host" TEXT,
    "health" TEXT,
    "collectorFailures" INTEGER NOT NULL DEFAULT 0,
    "spoolDropped" INTEGER NOT NULL DEFAULT 0
);
INSERT INTO "new_Node" ("agentVersion", "enrolledAt", "hostname", "id", "lastSeenAt", "lastSeq", "os", "revokedAt", "revokedBy", "tokenHash") SELECT "agentVersion", "enrolledAt", "hostname", "id", "lastSeenAt", "lastSeq", "os", "revokedAt", "revokedBy", "tokenHash" FROM "Node";
DROP TABLE "Node";
ALTER TABLE "new_Node" RENAME TO "Node";
CREATE UNIQUE INDEX "Node_tokenHash_key" ON "Node"("tokenHash");
CREATE INDEX "Node_hostname_idx" ON "Node"("hostname");
PRAGMA foreign_keys=ON;
PRAGMA defer_foreign_keys=OFF;

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
