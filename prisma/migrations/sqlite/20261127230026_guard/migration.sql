-- CreateTable
CREATE TABLE "GuardState" (
    "id" INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT,
    "configVersion" INTEGER NOT NULL DEFAULT 1,
    "config" TEXT NOT NULL,
    "armed" BOOLEAN NOT NULL DEFAULT false,
    "seq" INTEGER NOT NULL DEFAULT 0,
    "state" TEXT NOT NULL,
    "updatedAt" DATETIME NOT NULL,
    "updatedBy" TEXT
);

-- CreateTable
CREATE TABLE "GuardLease" (
    "id" INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT,
    "holder" TEXT NOT NULL,
    "acquiredAt" DATETIME NOT NULL,
    "expiresAt" DATETIME NOT NULL
);

-- CreateTable
CREATE TABLE "GuardEvent" (
    "id" TEXT NOT NULL PRIMARY KEY,
    "at" DATETIME NOT NULL,
    "kind" TEXT NOT NULL,
    "rule" TEXT,
    "step" INTEGER,
    "tier" TEXT,
    "action" TEXT,
    "dryRun" BOOLEAN NOT NULL DEFAULT false,
    "configVersion" INTEGER NOT NULL,
    "signal" TEXT,
    "message" TEXT NOT NULL,
    "instanceId" TEXT
);

-- CreateTable
CREATE TABLE "GuardDrill" (
    "id" TEXT NOT NULL PRIMARY KEY,
    "requestedAt" DATETIME NOT NULL,
    "requestedBy" TEXT NOT NULL,
    "live" BOOLEAN NOT NULL,
    "tier" TEXT,
    "state" TEXT NOT NULL,
    "decidedAt" DATETIME,
    "decidedBy" TEXT,
    "committedAt" DATETIME,
    "configVersion" INTEGER,
    "appliedAllAt" DATETIME,
    "instances" INTEGER,
    "decisionMs" REAL,
    "commitMs" REAL,
    "propagationMs" REAL,
    "error" TEXT
);

-- CreateIndex
CREATE INDEX "GuardEvent_at_idx" ON "GuardEvent"("at");

-- CreateIndex
CREATE INDEX "GuardEvent_kind_at_idx" ON "GuardEvent"("kind", "at");

-- CreateIndex
CREATE INDEX "GuardDrill_requestedAt_idx" ON "GuardDrill"("requestedAt");
