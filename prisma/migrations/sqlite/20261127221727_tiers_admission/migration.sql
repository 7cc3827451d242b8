-- CreateTable
CREATE TABLE "Tier" (
    "id" TEXT NOT NULL PRIMARY KEY,
    "name" TEXT NOT NULL,
    "failMode" TEXT NOT NULL DEFAULT 'closed',
    "retiredAt" DATETIME,
    "pausedAt" DATETIME,
    "pausedBy" TEXT,
    "pauseReason" TEXT,
    "resumeAt" DATETIME,
    "pauseVersion" INTEGER,
    "createdAt" DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updatedAt" DATETIME NOT NULL
);

-- CreateTable
CREATE TABLE "TierLimit" (
    "id" TEXT NOT NULL PRIMARY KEY,
    "tierId" TEXT NOT NULL,
    "window" TEXT NOT NULL,
    "limit" INTEGER NOT NULL,
    "updatedAt" DATETIME NOT NULL,
    "updatedBy" TEXT,
    CONSTRAINT "TierLimit_tierId_fkey" FOREIGN KEY ("tierId") REFERENCES "Tier" ("id") ON DELETE CASCADE ON UPDATE CASCADE
);

-- CreateTable
CREATE TABLE "TemporaryLimit" (
    "id" TEXT NOT NULL PRIMARY KEY,
    "tierId" TEXT NOT NULL,
    "window" TEXT NOT NULL,
    "limit" INTEGER NOT NULL,
    "until" DATETIME NOT NULL,
    "reason" TEXT NOT NULL,
    "createdBy" TEXT NOT NULL,
    "createdAt" DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "clearedAt" DATETIME,
    "clearedBy" TEXT,
    CONSTRAINT "TemporaryLimit_tierId_fkey" FOREIGN KEY ("tierId") REFERENCES "Tier" ("id") ON DELETE CASCADE ON UPDATE CASCADE
);

-- CreateTable
CREATE TABLE "QuotaCounter" (
    "tierId" TEXT NOT NULL,
    "window" TEXT NOT NULL,
    "subject" TEXT NOT NULL,
    "windowStartMin" INTEGER NOT NULL,
    "used" INTEGER NOT NULL,

    PRIMARY KEY ("tierId", "window", "subject", "windowStartMin")
);

-- CreateTable
CREATE TABLE "AdmissionRequest" (
    "requestId" TEXT NOT NULL PRIMARY KEY,
    "response" TEXT NOT NULL,
    "createdAt" DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "expiresAt" DATETIME NOT NULL
);

-- CreateTable
CREATE TABLE "RefundedTicket" (
    "nonce" TEXT NOT NULL PRIMARY KEY,
    "refundedAt" DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "expiresAt" DATETIME NOT NULL
);

-- CreateTable
CREATE TABLE "AdmissionStat" (
    "tierName" TEXT NOT NULL,
    "minute" INTEGER NOT NULL,
    "allowed" INTEGER NOT NULL DEFAULT 0,
    "denied" INTEGER NOT NULL DEFAULT 0,

    PRIMARY KEY ("tierName", "minute")
);

-- CreateTable
CREATE TABLE "Instance" (
    "id" TEXT NOT NULL PRIMARY KEY,
    "hostname" TEXT NOT NULL,
    "pid" INTEGER NOT NULL,
    "startedAt" DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "heartbeatAt" DATETIME NOT NULL,
    "configVersion" INTEGER NOT NULL,
    "appliedAt" DATETIME NOT NULL
);

-- CreateTable
CREATE TABLE "ConfigApplication" (
    "instanceId" TEXT NOT NULL,
    "version" INTEGER NOT NULL,
    "appliedAt" DATETIME NOT NULL,

    PRIMARY KEY ("instanceId", "version")
);

-- CreateTable
CREATE TABLE "ConfigState" (
    "id" INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT,
    "version" INTEGER NOT NULL,
    "updatedAt" DATETIME NOT NULL
);

-- CreateIndex
CREATE UNIQUE INDEX "Tier_name_key" ON "Tier"("name");

-- CreateIndex
CREATE UNIQUE INDEX "TierLimit_tierId_window_key" ON "TierLimit"("tierId", "window");

-- CreateIndex
CREATE INDEX "TemporaryLimit_tierId_until_idx" ON "TemporaryLimit"("tierId", "until");

-- CreateIndex
CREATE INDEX "QuotaCounter_windowStartMin_idx" ON "QuotaCounter"("windowStartMin");

-- CreateIndex
CREATE INDEX "AdmissionRequest_expiresAt_idx" ON "AdmissionRequest"("expiresAt");

-- CreateIndex
CREATE INDEX "RefundedTicket_expiresAt_idx" ON "RefundedTicket"("expiresAt");

-- CreateIndex
CREATE INDEX "ConfigApplication_version_idx" ON "ConfigApplication"("version");
