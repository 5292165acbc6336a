CREATE TABLE "privacy_settings" (
	"user_id" bigint PRIMARY KEY NOT NULL,
	"invisible" boolean DEFAULT false NOT NULL,
	"last_seen" text DEFAULT 'everyone' NOT NULL,
	"hidden_last_seen" timestamp (3) with time zone,
	"hidden_v" bigint,
	CONSTRAINT "privacy_settings_last_seen_check" CHECK ("privacy_settings"."last_seen" in ('everyone', 'friends', 'nobody'))
);
--> statement-breakpoint
ALTER TABLE "presence_outbox" ADD COLUMN "invisible" boolean DEFAULT false NOT NULL;--> statement-breakpoint
ALTER TABLE "privacy_settings" ADD CONSTRAINT "privacy_settings_user_id_users_id_fk" FOREIGN KEY ("user_id") REFERENCES "public"."users"("id") ON DELETE cascade ON UPDATE no action;