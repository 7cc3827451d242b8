-- CreateTable
CREATE TABLE "QuotaDelta" (
    "seq" INTEGER NOT NULL,
    "tierId" TEXT NOT NULL,
    "window" TEXT NOT NULL,
    "subject" TEXT NOT NULL,
    "windowStartMin" INTEGER NOT NULL,
    "delta" INTEGER NOT NULL,

    CONSTRAINT "QuotaDelta_pkey" PRIMARY KEY ("seq")
);
