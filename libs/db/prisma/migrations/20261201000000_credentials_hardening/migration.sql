-- Credentials hardening (DESIGN.md section 4): the security stamp that makes credential changes win
-- every race (docs/decisions/008-security-stamp.md), and the durable record of the addresses each
-- user logged in from, which the per-account login budget exempts (docs/decisions/007-login-throttling.md).

-- AlterTable
-- A volatile default gives every existing user a stamp of its own.
ALTER TABLE "users" ADD COLUMN "security_stamp" UUID NOT NULL DEFAULT gen_random_uuid();

-- AlterTable
-- Existing sessions were opened under their user's current credentials: they get the user's stamp,
-- so they survive the migration, and the next credential change ends them like any other.
ALTER TABLE "sessions" ADD COLUMN "security_stamp" UUID;
UPDATE "sessions" s SET "security_stamp" = u."security_stamp" FROM "users" u WHERE u."id" = s."user_id";
ALTER TABLE "sessions" ALTER COLUMN "security_stamp" SET NOT NULL;

-- CreateTable
CREATE TABLE "known_login_addresses" (
    "user_id" UUID NOT NULL,
    "address" INET NOT NULL,
    "last_login_at" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "known_login_addresses_pkey" PRIMARY KEY ("user_id","address")
);

-- CreateIndex
CREATE INDEX "known_login_addresses_last_login_at_idx" ON "known_login_addresses"("last_login_at");

-- AddForeignKey
ALTER TABLE "known_login_addresses" ADD CONSTRAINT "known_login_addresses_user_id_fkey" FOREIGN KEY ("user_id") REFERENCES "users"("id") ON DELETE CASCADE ON UPDATE CASCADE;
