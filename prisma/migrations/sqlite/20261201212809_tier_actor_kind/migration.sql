-- AlterTable
ALTER TABLE "Tier" ADD COLUMN "pausedByKind" TEXT;

-- RedefineTables
PRAGMA defer_foreign_keys=ON;
PRAGMA foreign_keys=OFF;
CREATE TABLE "new_TemporaryLimit" (
    "id" TEXT NOT NULL PRIMARY KEY,
    "tierId" TEXT NOT NULL,
    "window" TEXT NOT NULL,
    "limit" INTEGER NOT NULL,
    "until" DATETIME NOT NULL,
    "reason" TEXT NOT NULL,
    "createdBy" TEXT NOT NULL,
    "createdByKind" TEXT NOT NULL DEFAULT 'user',
    "createdAt" DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "clearedAt" DATETIME,
    "clearedBy" TEXT,
    "clearedByKind" TEXT,
    CONSTRAINT "TemporaryLimit_tierId_fkey" FOREIGN KEY ("tierId") REFERENCES "Tier" ("id") ON DELETE CASCADE ON UPDATE CASCADE
);
INSERT INTO "new_TemporaryLimit" ("clearedAt", "clearedBy", "createdAt", "createdBy", "id", "limit", "reason", "tierId", "until", "window") SELECT "clearedAt", "clearedBy", "createdAt", "createdBy", "id", "limit", "reason", "tierId", "until", "window" FROM "TemporaryLimit";
DROP TABLE "TemporaryLimit";
ALTER TABLE "new_TemporaryLimit" RENAME TO "TemporaryLimit";
CREATE INDEX "TemporaryLimit_tierId_until_idx" ON "TemporaryLimit"("tierId", "until");
PRAGMA foreign_keys=ON;
PRAGMA defer_foreign_keys=OFF;

-- Backfill (hand-written): rows written before the kind existed are recognised by the old
-- convention, the name guard for the changes of the guard, every other actor reads as a user
-- (a change by a token made before this migration cannot be told apart from one by a user).
UPDATE "Tier" SET "pausedByKind" = CASE WHEN "pausedBy" = 'guard' THEN 'guard' ELSE 'user' END WHERE "pausedAt" IS NOT NULL;
UPDATE "TemporaryLimit" SET "createdByKind" = 'guard' WHERE "createdBy" = 'guard';
UPDATE "TemporaryLimit" SET "clearedByKind" = CASE WHEN "clearedBy" = 'guard' THEN 'guard' ELSE 'user' END WHERE "clearedBy" IS NOT NULL;
