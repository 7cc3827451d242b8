-- AlterTable
ALTER TABLE "TemporaryLimit" ADD COLUMN     "clearedByKind" TEXT,
ADD COLUMN     "createdByKind" TEXT NOT NULL DEFAULT 'user';

-- AlterTable
ALTER TABLE "Tier" ADD COLUMN     "pausedByKind" TEXT;

-- Backfill (hand-written): rows written before the kind existed are recognised by the old
-- convention, the name guard for the changes of the guard, every other actor reads as a user
-- (a change by a token made before this migration cannot be told apart from one by a user).
UPDATE "Tier" SET "pausedByKind" = CASE WHEN "pausedBy" = 'guard' THEN 'guard' ELSE 'user' END WHERE "pausedAt" IS NOT NULL;
UPDATE "TemporaryLimit" SET "createdByKind" = 'guard' WHERE "createdBy" = 'guard';
UPDATE "TemporaryLimit" SET "clearedByKind" = CASE WHEN "clearedBy" = 'guard' THEN 'guard' ELSE 'user' END WHERE "clearedBy" IS NOT NULL;
