import type { Logger } from "../logger.js";
import { migrate } from "../postgres.js";

/**
 * The platform's own tables in a service's database, migrated by the platform with migration tables of
 * their own, so that no service copies their DDL: the outbox (for a service that records events) and the
 * inbox (for one that consumes them).
 */
export async function migrateOutbox(databaseUrl: string, logger: Logger): Promise<void> {
  await migrate(
    databaseUrl,
    new URL("../../migrations/outbox", import.meta.url),
    logger,
    "platform_outbox_migrations",
  );
}

export async function migrateInbox(databaseUrl: string, logger: Logger): Promise<void> {
  await migrate(
    databaseUrl,
    new URL("../../migrations/inbox", import.meta.url),
    logger,
    "platform_inbox_migrations",
  );
}
