-- CreateTable
CREATE TABLE "QuotaDelta" (
    "seq" INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT,
    "tierId" TEXT NOT NULL,
    "window" TEXT NOT NULL,
    "subject" TEXT NOT NULL,
    "windowStartMin" INTEGER NOT NULL,
    "delta" INTEGER NOT NULL
);
