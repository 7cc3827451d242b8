-- CreateTable
CREATE TABLE "LoginThrottle" (
    "key" TEXT NOT NULL PRIMARY KEY,
    "failures" INTEGER NOT NULL DEFAULT 0,
    "windowStart" DATETIME NOT NULL,
    "blockedUntil" DATETIME,
    "updatedAt" DATETIME NOT NULL
);

-- RedefineTables
PRAGMA defer_foreign_keys=ON;
PRAGMA foreign_keys=OFF;
CREATE TABLE "new_AdmissionRequest" (
    "requestId" TEXT NOT NULL PRIMARY KEY,
    "fingerprint" TEXT NOT NULL DEFAULT '',
    "response" TEXT NOT NULL,
    "createdAt" DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "expiresAt" DATETIME NOT NULL
);
INSERT INTO "new_AdmissionRequest" ("createdAt", "expiresAt", "requestId", "response") SELECT "createdAt", "expiresAt", "requestId", "response" FROM "AdmissionRequest";
DROP TABLE "AdmissionRequest";
ALTER TABLE "new_AdmissionRequest" RENAME TO "AdmissionRequest";
CREATE INDEX "AdmissionRequest_expiresAt_idx" ON "AdmissionRequest"("expiresAt");
CREATE TABLE "new_AuditEvent" (
    "id" INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT,
    "at" DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "actorType" TEXT NOT NULL,
    "actorId" TEXT,
    "actorName" TEXT NOT NULL,
    "action" TEXT NOT NULL,
    "target" TEXT,
    "reason" TEXT,
    "details" TEXT,
    "ip" TEXT,
    "count" INTEGER NOT NULL DEFAULT 1,
    "aggregateKey" TEXT
);
INSERT INTO "new_AuditEvent" ("action", "actorId", "actorName", "actorType", "at", "details", "id", "ip", "reason", "target") SELECT "action", "actorId", "actorName", "actorType", "at", "details", "id", "ip", "reason", "target" FROM "AuditEvent";
DROP TABLE "AuditEvent";
ALTER TABLE "new_AuditEvent" RENAME TO "AuditEvent";
CREATE UNIQUE INDEX "AuditEvent_aggregateKey_key" ON "AuditEvent"("aggregateKey");
CREATE INDEX "AuditEvent_at_idx" ON "AuditEvent"("at");
CREATE INDEX "AuditEvent_action_at_idx" ON "AuditEvent"("action", "at");
CREATE INDEX "AuditEvent_actorName_at_idx" ON "AuditEvent"("actorName", "at");
CREATE TABLE "new_GpuMinute" (
    "nodeId" TEXT NOT NULL,
    "gpuIndex" INTEGER NOT NULL,
    "minute" BIGINT NOT NULL,
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
INSERT INTO "new_GpuMinute" ("gpuIndex", "memMax", "minute", "nodeId", "powerCount", "powerSum", "samples", "tempMax", "utilCount", "utilMax", "utilSum") SELECT "gpuIndex", "memMax", "minute", "nodeId", "powerCount", "powerSum", "samples", "tempMax", "utilCount", "utilMax", "utilSum" FROM "GpuMinute";
DROP TABLE "GpuMinute";
ALTER TABLE "new_GpuMinute" RENAME TO "GpuMinute";
CREATE INDEX "GpuMinute_minute_idx" ON "GpuMinute"("minute");
CREATE TABLE "new_GpuState" (
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
    "eccCorrected" BIGINT,
    "eccUncorrected" BIGINT,
    "migEnabled" BOOLEAN,
    "sampledAt" DATETIME NOT NULL,

    PRIMARY KEY ("nodeId", "gpuIndex"),
    CONSTRAINT "GpuState_nodeId_fkey" FOREIGN KEY ("nodeId") REFERENCES "Node" ("id") ON DELETE CASCADE ON UPDATE CASCADE
);
INSERT INTO "new_GpuState" ("clockGraphicsMHz", "clockMemoryMHz", "driverVersion", "eccCorrected", "eccUncorrected", "fanPercent", "gpuIndex", "memoryTotalMiB", "memoryUsedMiB", "migEnabled", "name", "nodeId", "pciBusId", "powerDrawW", "powerLimitW", "pstate", "sampledAt", "temperatureGpu", "temperatureMemory", "throttleReasons", "utilizationGpu", "utilizationMemory", "uuid") SELECT "clockGraphicsMHz", "clockMemoryMHz", "driverVersion", "eccCorrected", "eccUncorrected", "fanPercent", "gpuIndex", "memoryTotalMiB", "memoryUsedMiB", "migEnabled", "name", "nodeId", "pciBusId", "powerDrawW", "powerLimitW", "pstate", "sampledAt", "temperatureGpu", "temperatureMemory", "throttleReasons", "utilizationGpu", "utilizationMemory", "uuid" FROM "GpuState";
DROP TABLE "GpuState";
ALTER TABLE "new_GpuState" RENAME TO "GpuState";
CREATE TABLE "new_Node" (
    "id" TEXT NOT NULL PRIMARY KEY,
    "hostname" TEXT NOT NULL,
    "tokenHash" TEXT NOT NULL,
    "agentVersion" TEXT,
    "os" TEXT,
    "enrolledAt" DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "lastSeenAt" DATETIME,
    "lastSeq" BIGINT NOT NULL DEFAULT 0,
    "revokedAt" DATETIME,
    "revokedBy" TEXT,
    "intervalSeconds" INTEGER NOT NULL DEFAULT 5,
    "lastSampleAt" DATETIME,
    "gpuCount" INTEGER NOT NULL DEFAULT 0,
    "host" TEXT,
    "health" TEXT,
    "collectorFailures" INTEGER NOT NULL DEFAULT 0,
    "spoolDropped" BIGINT NOT NULL DEFAULT 0
);
INSERT INTO "new_Node" ("agentVersion", "collectorFailures", "enrolledAt", "gpuCount", "health", "host", "hostname", "id", "intervalSeconds", "lastSampleAt", "lastSeenAt", "lastSeq", "os", "revokedAt", "revokedBy", "spoolDropped", "tokenHash") SELECT "agentVersion", "collectorFailures", "enrolledAt", "gpuCount", "health", "host", "hostname", "id", "intervalSeconds", "lastSampleAt", "lastSeenAt", "lastSeq", "os", "revokedAt", "revokedBy", "spoolDropped", "tokenHash" FROM "Node";
DROP TABLE "Node";
ALTER TABLE "new_Node" RENAME TO "Node";
CREATE UNIQUE INDEX "Node_tokenHash_key" ON "Node"("tokenHash");
CREATE INDEX "Node_hostname_idx" ON "Node"("hostname");
PRAGMA foreign_keys=ON;
PRAGMA defer_foreign_keys=OFF;

-- CreateIndex
CREATE INDEX "LoginThrottle_updatedAt_idx" ON "LoginThrottle"("updatedAt");
