ALTER TABLE "presence_outbox" ADD COLUMN "custom" jsonb;--> statement-breakpoint
ALTER TABLE "user_presence" ADD COLUMN "custom" jsonb;