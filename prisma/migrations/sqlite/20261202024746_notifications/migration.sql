-- CreateTable
CREATE TABLE "NotificationConfig" (
    "id" INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT,
    "version" INTEGER NOT NULL DEFAULT 0,
    "alertmanagerUrl" TEXT,
    "webhookUrl" TEXT,
    "webhookSecret" TEXT,
    "updatedAt" DATETIME NOT NULL,
    "updatedBy" TEXT
);

-- CreateTable
CREATE TABLE "NotificationEvent" (
    "seq" INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT,
    "eventId" TEXT NOT NULL,
    "alertKey" TEXT NOT NULL,
    "status" TEXT NOT NULL,
    "open" BOOLEAN NOT NULL DEFAULT false,
    "alertname" TEXT NOT NULL,
    "severity" TEXT NOT NULL,
    "labels" TEXT NOT NULL,
    "summary" TEXT NOT NULL,
    "description" TEXT NOT NULL,
    "nodeId" TEXT,
    "startsAt" DATETIME NOT NULL,
    "endsAt" DATETIME,
    "createdAt" DATETIME NOT NULL,
    "webhookAt" DATETIME,
    "alertmanagerAt" DATETIME
);

-- CreateTable
CREATE TABLE "NotificationChannel" (
    "channel" TEXT NOT NULL PRIMARY KEY,
    "fromSeq" INTEGER NOT NULL DEFAULT 0,
    "lastAttemptAt" DATETIME,
    "lastSuccessAt" DATETIME,
    "lastStatus" INTEGER,
    "lastError" TEXT,
    "consecutiveFailures" INTEGER NOT NULL DEFAULT 0,
    "nextAttemptAt" DATETIME,
    "delivered" BIGINT NOT NULL DEFAULT 0,
    "failed" BIGINT NOT NULL DEFAULT 0
);

-- CreateTable
CREATE TABLE "NotificationLease" (
    "id" INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT,
    "holder" TEXT NOT NULL,
    "acquiredAt" DATETIME NOT NULL,
    "expiresAt" DATETIME NOT NULL
);

-- CreateIndex
CREATE UNIQUE INDEX "NotificationEvent_eventId_key" ON "NotificationEvent"("eventId");

-- CreateIndex
CREATE INDEX "NotificationEvent_alertKey_idx" ON "NotificationEvent"("alertKey");

-- CreateIndex
CREATE INDEX "NotificationEvent_open_idx" ON "NotificationEvent"("open");

-- CreateIndex
CREATE INDEX "NotificationEvent_createdAt_idx" ON "NotificationEvent"("createdAt");
