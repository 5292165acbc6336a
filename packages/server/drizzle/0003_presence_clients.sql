ALTER TABLE "presence_outbox" ADD COLUMN "clients" jsonb DEFAULT '{}'::jsonb NOT NULL;--> statement-breakpoint
ALTER TABLE "user_presence" ADD COLUMN "clients" jsonb DEFAULT '{}'::jsonb NOT NULL;