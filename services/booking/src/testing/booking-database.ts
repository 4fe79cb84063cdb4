import { type Logger, migrate, migrateOutbox } from "@tourmesh/platform";
import { createTestDatabase, type TestDatabase } from "@tourmesh/platform/testing";

/** A test database of booking's own, migrated as the service migrates its database: its tables and the outbox. */
export async function createBookingDatabase(prefix: string, logger: Logger): Promise<TestDatabase> {
  const db = await createTestDatabase(prefix);
  await migrate(db.url, new URL("../../migrations", import.meta.url), logger);
  await migrateOutbox(db.url, logger);
  return db;
}
