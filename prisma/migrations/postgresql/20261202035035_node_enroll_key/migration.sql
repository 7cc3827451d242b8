-- AlterTable
ALTER TABLE "Node" ADD COLUMN     "enrollKeyHash" TEXT;

-- CreateIndex
CREATE UNIQUE INDEX "Node_enrollKeyHash_key" ON "Node"("enrollKeyHash");
