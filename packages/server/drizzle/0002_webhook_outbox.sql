CREATE TABLE "presence_outbox" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"user_id" bigint NOT NULL,
	"status" text NOT NULL,
	"last_seen" timestamp (3) with time zone,
	"v" bigint NOT NULL,
	"created_at" timestamp (3) with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE UNIQUE INDEX "presence_outbox_user_v_idx" ON "presence_outbox" USING btree ("user_id","v");