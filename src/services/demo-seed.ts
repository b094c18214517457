// Demo procurements for a new embedded platform: seeded once into an empty database, each with the
// OCDS release of its publication, so every public view and the open data have something to show.
import type { Config } from '../config/index.js';
import type { WorkingCalendar } from '../domain/calendar.js';
import { UppError } from '../domain/errors.js';
import type { Database } from '../store/database.js';
import { seedDemoData } from './demo-data.js';
import { recordRelease } from './ocds.js';

export const DEMO_PROCUREMENTS = 300;

/** Whether this start seeds: `on`, or `auto` with the embedded database outside production. */
export function seedsDemoData(config: Config, driver: Database['driver']): boolean {
  if (config.demoData === 'on' && config.nodeEnv === 'production') {
    throw new UppError(
      'config.demo_in_production',
      500,
      'UPP_DEMO_DATA=on is refused in production',
    );
  }
  if (config.demoData === 'auto') return driver === 'pglite' && config.nodeEnv !== 'production';
  return config.demoData === 'on';
}

export async function seedDemoPlatform(
  db: Database,
  options: { now: Date; calendar: WorkingCalendar; ocidPrefix: string },
): Promise<{ procurements: number; lots: number }> {
  const seeded = await seedDemoData(db, { procurements: DEMO_PROCUREMENTS, ...options });
  if (seeded.procurements === 0) return seeded;
  await db.transaction(async (tx) => {
    const unpublished = await tx.query<{ id: string; published_at: Date }>(
      `SELECT p.id, p.published_at FROM procurement p
        WHERE p.published_at IS NOT NULL
          AND NOT EXISTS (SELECT 1 FROM ocds_release r WHERE r.procurement_id = p.id)
        ORDER BY p.published_at, p.id`,
    );
    for (const row of unpublished.rows) {
      await recordRelease(tx, row.id, { tag: ['tender'], date: row.published_at });
    }
  });
  return seeded;
}
