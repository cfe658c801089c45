import { describe, expect, it } from 'vitest';
import { latestDailyPublication } from '../../src/calendar/days.js';
import { ecbBusinessDays, ecbLatestPublishedDay } from '../../src/calendar/ecb.js';
import { ecbHistory } from './fixtures.js';

describe('the simulated publication calendars', () => {
  it('ECB business days are the days of the ECB history: weekdays except TARGET holidays', () => {
    const published = [...ecbHistory().keys()].sort();
    expect(ecbBusinessDays('2024-01-01', '2024-12-31')).toEqual(published);
  });

  it('the ECB publishes at 16:00 Frankfurt time, in winter (CET) and summer (CEST)', () => {
    expect(ecbLatestPublishedDay(new Date('2024-01-09T14:59:59Z'))).toBe('2024-01-08');
    expect(ecbLatestPublishedDay(new Date('2024-01-09T15:00:00Z'))).toBe('2024-01-09');
    expect(ecbLatestPublishedDay(new Date('2025-05-09T13:59:59Z'))).toBe('2025-05-08');
    expect(ecbLatestPublishedDay(new Date('2025-05-09T14:00:00Z'))).toBe('2025-05-09');
    expect(ecbLatestPublishedDay(new Date('2025-05-09T23:30:00Z'))).toBe('2025-05-09');
  });

  it('over a weekend and before Monday 16:00 the latest ECB day is Friday', () => {
    for (const at of ['2025-05-10T12:00:00Z', '2025-05-11T23:59:59Z', '2025-05-12T00:30:00Z', '2025-05-12T13:59:00Z']) {
      expect(ecbLatestPublishedDay(new Date(at)), at).toBe('2025-05-09');
    }
    expect(ecbLatestPublishedDay(new Date('2025-05-12T14:00:00Z'))).toBe('2025-05-12');
  });

  it('no ECB rates on Good Friday and Easter Monday', () => {
    expect(ecbLatestPublishedDay(new Date('2024-03-29T18:00:00Z'))).toBe('2024-03-28');
    expect(ecbLatestPublishedDay(new Date('2024-04-01T18:00:00Z'))).toBe('2024-03-28');
    expect(ecbLatestPublishedDay(new Date('2024-04-02T18:00:00Z'))).toBe('2024-04-02');
  });

  it('a daily publication at a UTC time is the previous day until that time', () => {
    expect(latestDailyPublication(new Date('2024-01-10T00:02:30Z'), '00:02:31')).toBe('2024-01-09');
    expect(latestDailyPublication(new Date('2024-01-10T00:02:31Z'), '00:02:31')).toBe('2024-01-10');
  });
});
