-- CreateTable
CREATE TABLE "Tier" (
    "id" TEXT NOT NULL,
    "name" TEXT NOT NULL,
    "failMode" TEXT NOT NULL DEFAULT 'closed',
    "retiredAt" TIMESTAMP(3),
    "pausedAt" TIMESTAMP(3),
    "pausedBy" TEXT,
    "pauseReason" TEXT,
    "resumeAt" TIMESTAMP(3),
    "pauseVersion" INTEGER,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updatedAt" TIMESTAMP(3) NOT NULL,

    CONSTRAINT "Tier_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "TierLimit" (
    "id" TEXT NOT NULL,
    "tierId" TEXT NOT NULL,
    "window" TEXT NOT NULL,
    "limit" INTEGER NOT NULL,
    "updatedAt" TIMESTAMP(3) NOT NULL,
    "updatedBy" TEXT,

    CONSTRAINT "TierLimit_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "TemporaryLimit" (
    "id" TEXT NOT NULL,
    "tierId" TEXT NOT NULL,
    "window" TEXT NOT NULL,
    "limit" INTEGER NOT NULL,
    "until" TIMESTAMP(3) NOT NULL,
    "reason" TEXT NOT NULL,
    "createdBy" TEXT NOT NULL,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "clearedAt" TIMESTAMP(3),
    "clearedBy" TEXT,

    CONSTRAINT "TemporaryLimit_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "QuotaCounter" (
    "tierId" TEXT NOT NULL,
    "window" TEXT NOT NULL,
    "subject" TEXT NOT NULL,
    "windowStartMin" INTEGER NOT NULL,
    "used" INTEGER NOT NULL,

    CONSTRAINT "QuotaCounter_pkey" PRIMARY KEY ("tierId","window","subject","windowStartMin")
);

-- CreateTable
CREATE TABLE "AdmissionRequest" (
    "requestId" TEXT NOT NULL,
    "response" TEXT NOT NULL,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "expiresAt" TIMESTAMP(3) NOT NULL,

    CONSTRAINT "AdmissionRequest_pkey" PRIMARY KEY ("requestId")
);

-- CreateTable
CREATE TABLE "RefundedTicket" (
    "nonce" TEXT NOT NULL,
    "refundedAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "expiresAt" TIMESTAMP(3) NOT NULL,

    CONSTRAINT "RefundedTicket_pkey" PRIMARY KEY ("nonce")
);

-- CreateTable
CREATE TABLE "AdmissionStat" (
    "tierName" TEXT NOT NULL,
    "minute" INTEGER NOT NULL,
    "allowed" INTEGER NOT NULL DEFAULT 0,
    "denied" INTEGER NOT NULL DEFAULT 0,

    CONSTRAINT "AdmissionStat_pkey" PRIMARY KEY ("tierName","minute")
);

-- CreateTable
CREATE TABLE "Instance" (
    "id" TEXT NOT NULL,
    "hostname" TEXT NOT NULL,
    "pid" INTEGER NOT NULL,
    "startedAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "heartbeatAt" TIMESTAMP(3) NOT NULL,
    "configVersion" INTEGER NOT NULL,
    "appliedAt" TIMESTAMP(3) NOT NULL,

    CONSTRAINT "Instance_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "ConfigApplication" (
    "instanceId" TEXT NOT NULL,
    "version" INTEGER NOT NULL,
    "appliedAt" TIMESTAMP(3) NOT NULL,

    CONSTRAINT "ConfigApplication_pkey" PRIMARY KEY ("instanceId","version")
);

-- CreateTable
CREATE TABLE "ConfigState" (
    "id" INTEGER NOT NULL,
    "version" INTEGER NOT NULL,
    "updatedAt" TIMESTAMP(3) NOT NULL,

    CONSTRAINT "ConfigState_pkey" PRIMARY KEY ("id")
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

-- AddForeignKey
ALTER TABLE "TierLimit" ADD CONSTRAINT "TierLimit_tierId_fkey" FOREIGN KEY ("tierId") REFERENCES "Tier"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "TemporaryLimit" ADD CONSTRAINT "TemporaryLimit_tierId_fkey" FOREIGN KEY ("tierId") REFERENCES "Tier"("id") ON DELETE CASCADE ON UPDATE CASCADE;
