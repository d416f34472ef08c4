-- CreateTable
CREATE TABLE "settings" (
    "namespace" TEXT NOT NULL,
    "key" TEXT NOT NULL,
    "value" JSONB,
    "revision" BIGSERIAL NOT NULL,
    "updated_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_by" UUID NOT NULL,

    CONSTRAINT "settings_pkey" PRIMARY KEY ("namespace","key")
);

-- CreateTable
CREATE TABLE "settings_history" (
    "revision" BIGINT NOT NULL,
    "namespace" TEXT NOT NULL,
    "key" TEXT NOT NULL,
    "op" TEXT NOT NULL,
    "old_value" JSONB,
    "new_value" JSONB,
    "updated_by" UUID NOT NULL,
    "updated_at" TIMESTAMPTZ(3) NOT NULL,
    "request_id" VARCHAR(128) NOT NULL,

    CONSTRAINT "settings_history_pkey" PRIMARY KEY ("revision")
);

-- CreateIndex
CREATE UNIQUE INDEX "settings_revision_key" ON "settings"("revision");

-- CreateIndex
CREATE INDEX "settings_history_namespace_key_revision_idx" ON "settings_history"("namespace", "key", "revision");

-- Hand-written below this line: CHECK constraints have no syntax in schema.prisma (see the model
-- comments there).

-- AddCheckConstraint
ALTER TABLE "settings" ADD CONSTRAINT "settings_revision_positive" CHECK ("revision" > 0);

-- AddCheckConstraint
ALTER TABLE "settings_history" ADD CONSTRAINT "settings_history_op_check" CHECK (("op" = 'set' AND "new_value" IS NOT NULL) OR ("op" = 'reset' AND "new_value" IS NULL));
