// Loads the working-day calendar: the bundled years plus an operator's folder of <year>.json files.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { workingCalendar } from '../domain/calendar.js';
import type { WorkingCalendar } from '../domain/calendar.js';
import { UppError } from '../domain/errors.js';

export function loadWorkingCalendar(dir: string | undefined): WorkingCalendar {
  if (dir === undefined) return workingCalendar();
  const files = readdirSync(dir).filter((file) => /^\d{4}\.json$/.test(file));
  const years = files.map((file) => {
    try {
      return JSON.parse(readFileSync(join(dir, file), 'utf8')) as unknown;
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      throw new UppError('calendar.file_invalid', 500, `${join(dir, file)}: ${message}`);
    }
  });
  return workingCalendar(years);
}
