-- CreateTable
CREATE TABLE "SmokeRun" (
    "id" TEXT NOT NULL,
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
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "startedAt" TIMESTAMP(3),
    "finishedAt" TIMESTAMP(3),
    "timeoutAt" TIMESTAMP(3) NOT NULL,
    "rowsDone" INTEGER NOT NULL DEFAULT 0,
    "pixels" BYTEA,
    "png" BYTEA,
    "firstRowMs" DOUBLE PRECISION,
    "totalMs" DOUBLE PRECISION,
    "pixelsPerSecond" DOUBLE PRECISION,
    "checksum" TEXT,
    "modelVersion" TEXT,
    "expectedChecksum" TEXT,
    "match" BOOLEAN,

    CONSTRAINT "SmokeRun_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE INDEX "SmokeRun_nodeId_createdAt_idx" ON "SmokeRun"("nodeId", "createdAt");

-- CreateIndex
CREATE INDEX "SmokeRun_state_idx" ON "SmokeRun"("state");

-- CreateIndex
CREATE INDEX "SmokeRun_batchId_idx" ON "SmokeRun"("batchId");
