-- CreateTable
CREATE TABLE "SmokeRun" (
    "id" TEXT NOT NULL PRIMARY KEY,
    "batchId" TEXT NOT NULL,
    "target" TEXT NOT NULL,
    "nodeId" TEXT,
    "hostname" TEXT,
    "prompt" TEXT NOT NULL,
    "seed" BIGINT NOT NULL,
    "width" INTEGER NOT NULL,
    "height" INTEGER NOT NULL,
    "state" TEXT NOT NULL,
    "reason" TEXT,
    "createdBy" TEXT NOT NULL,
    "createdAt" DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "startedAt" DATETIME,
    "finishedAt" DATETIME,
    "timeoutAt" DATETIME NOT NULL,
    "rowsDone" INTEGER NOT NULL DEFAULT 0,
    "pixels" BLOB,
    "png" BLOB,
    "firstRowMs" REAL,
    "totalMs" REAL,
    "pixelsPerSecond" REAL,
    "checksum" TEXT,
    "modelVersion" TEXT,
    "expectedChecksum" TEXT,
    "match" BOOLEAN
);

-- CreateIndex
CREATE INDEX "SmokeRun_nodeId_createdAt_idx" ON "SmokeRun"("nodeId", "createdAt");

-- CreateIndex
CREATE INDEX "SmokeRun_state_idx" ON "SmokeRun"("state");

-- CreateIndex
CREATE INDEX "SmokeRun_batchId_idx" ON "SmokeRun"("batchId");
