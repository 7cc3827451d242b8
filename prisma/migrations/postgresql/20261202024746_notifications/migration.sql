-- CreateTable
CREATE TABLE "NotificationConfig" (
    "id" INTEGER NOT NULL,
    "version" INTEGER NOT NULL DEFAULT 0,
    "alertmanagerUrl" TEXT,
    "webhookUrl" TEXT,
    "webhookSecret" TEXT,
    "updatedAt" TIMESTAMP(3) NOT NULL,
    "updatedBy" TEXT,

    CONSTRAINT "NotificationConfig_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "NotificationEvent" (
    "seq" SERIAL NOT NULL,
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
    "startsAt" TIMESTAMP(3) NOT NULL,
    "endsAt" TIMESTAMP(3),
    "createdAt" TIMESTAMP(3) NOT NULL,
    "webhookAt" TIMESTAMP(3),
    "alertmanagerAt" TIMESTAMP(3),

    CONSTRAINT "NotificationEvent_pkey" PRIMARY KEY ("seq")
);

-- CreateTable
CREATE TABLE "NotificationChannel" (
    "channel" TEXT NOT NULL,
    "fromSeq" INTEGER NOT NULL DEFAULT 0,
    "lastAttemptAt" TIMESTAMP(3),
    "lastSuccessAt" TIMESTAMP(3),
    "lastStatus" INTEGER,
    "lastError" TEXT,
    "consecutiveFailures" INTEGER NOT NULL DEFAULT 0,
    "nextAttemptAt" TIMESTAMP(3),
    "delivered" BIGINT NOT NULL DEFAULT 0,
    "failed" BIGINT NOT NULL DEFAULT 0,

    CONSTRAINT "NotificationChannel_pkey" PRIMARY KEY ("channel")
);

-- CreateTable
CREATE TABLE "NotificationLease" (
    "id" INTEGER NOT NULL,
    "holder" TEXT NOT NULL,
    "acquiredAt" TIMESTAMP(3) NOT NULL,
    "expiresAt" TIMESTAMP(3) NOT NULL,

    CONSTRAINT "NotificationLease_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE UNIQUE INDEX "NotificationEvent_eventId_key" ON "NotificationEvent"("eventId");

-- CreateIndex
CREATE INDEX "NotificationEvent_alertKey_idx" ON "NotificationEvent"("alertKey");

-- CreateIndex
CREATE INDEX "NotificationEvent_open_idx" ON "NotificationEvent"("open");

-- CreateIndex
CREATE INDEX "NotificationEvent_createdAt_idx" ON "NotificationEvent"("createdAt");
