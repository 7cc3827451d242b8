-- CreateTable
CREATE TABLE "GuardState" (
    "id" INTEGER NOT NULL,
    "configVersion" INTEGER NOT NULL DEFAULT 1,
    "config" TEXT NOT NULL,
    "armed" BOOLEAN NOT NULL DEFAULT false,
    "seq" INTEGER NOT NULL DEFAULT 0,
    "state" TEXT NOT NULL,
    "updatedAt" TIMESTAMP(3) NOT NULL,
    "updatedBy" TEXT,

    CONSTRAINT "GuardState_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "GuardLease" (
    "id" INTEGER NOT NULL,
    "holder" TEXT NOT NULL,
    "acquiredAt" TIMESTAMP(3) NOT NULL,
    "expiresAt" TIMESTAMP(3) NOT NULL,

    CONSTRAINT "GuardLease_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "GuardEvent" (
    "id" TEXT NOT NULL,
    "at" TIMESTAMP(3) NOT NULL,
    "kind" TEXT NOT NULL,
    "rule" TEXT,
    "step" INTEGER,
    "tier" TEXT,
    "action" TEXT,
    "dryRun" BOOLEAN NOT NULL DEFAULT false,
    "configVersion" INTEGER NOT NULL,
    "signal" TEXT,
    "message" TEXT NOT NULL,
    "instanceId" TEXT,

    CONSTRAINT "GuardEvent_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "GuardDrill" (
    "id" TEXT NOT NULL,
    "requestedAt" TIMESTAMP(3) NOT NULL,
    "requestedBy" TEXT NOT NULL,
    "live" BOOLEAN NOT NULL,
    "tier" TEXT,
    "state" TEXT NOT NULL,
    "decidedAt" TIMESTAMP(3),
    "decidedBy" TEXT,
    "committedAt" TIMESTAMP(3),
    "configVersion" INTEGER,
    "appliedAllAt" TIMESTAMP(3),
    "instances" INTEGER,
    "decisionMs" DOUBLE PRECISION,
    "commitMs" DOUBLE PRECISION,
    "propagationMs" DOUBLE PRECISION,
    "error" TEXT,

    CONSTRAINT "GuardDrill_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE INDEX "GuardEvent_at_idx" ON "GuardEvent"("at");

-- CreateIndex
CREATE INDEX "GuardEvent_kind_at_idx" ON "GuardEvent"("kind", "at");

-- CreateIndex
CREATE INDEX "GuardDrill_requestedAt_idx" ON "GuardDrill"("requestedAt");
