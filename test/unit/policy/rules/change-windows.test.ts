import { describe, expect, it } from 'vitest';
import { evaluatePolicy } from '../../../../src/policy/evaluate.js';
import { baseRule, inputOf, policyOf, problemsOfPolicy } from '../helpers.js';

const officeHours = {
  timeZone: 'Europe/Amsterdam',
  days: ['Mon', 'Tue', 'Wed', 'Thu', 'Fri'],
  start: '08:00',
  end: '18:00',
};
const fridayNight = { timeZone: 'Europe/Amsterdam', days: ['Fri'], start: '22:00', end: '06:00' };
const lateMonday = { timeZone: 'UTC', days: ['Mon'], start: '20:00', end: '24:00' };
const newYork = { timeZone: 'America/New_York', days: ['Sat'], start: '09:00', end: '10:00' };

const inside = (windows: object[], iso: string): boolean => {
  const policy = policyOf([{ ...baseRule, changeWindows: windows }]);
  return evaluatePolicy(policy, inputOf({ now: Date.parse(iso) })).allowed;
};

describe('changeWindows', () => {
  it.each<[string, object[], string, boolean]>([
    ['Monday 10:00 in summer (UTC+2)', [officeHours], '2025-06-02T08:00:00Z', true],
    ['start is inclusive', [officeHours], '2025-06-02T06:00:00Z', true],
    ['a minute before the start', [officeHours], '2025-06-02T05:59:59Z', false],
    ['end is exclusive', [officeHours], '2025-06-02T16:00:00Z', false],
    ['a minute before the end', [officeHours], '2025-06-02T15:59:00Z', true],
    ['Saturday', [officeHours], '2025-06-07T08:00:00Z', false],
    ['winter offset (UTC+1): 08:00 local', [officeHours], '2025-01-06T07:00:00Z', true],
    ['winter offset (UTC+1): 07:59 local', [officeHours], '2025-01-06T06:59:00Z', false],
    [
      'UTC Monday is still Sunday night in Amsterdam? no: Monday 00:30 local',
      [officeHours],
      '2025-06-01T22:30:00Z',
      false,
    ],
    ['wrap: Friday 23:00', [fridayNight], '2025-06-06T21:00:00Z', true],
    ['wrap: Saturday 03:00 belongs to Friday', [fridayNight], '2025-06-07T01:00:00Z', true],
    ['wrap: Saturday 06:00 is past the end', [fridayNight], '2025-06-07T04:00:00Z', false],
    ['wrap: Friday 05:00 belongs to Thursday', [fridayNight], '2025-06-06T03:00:00Z', false],
    ['wrap: Saturday 23:00', [fridayNight], '2025-06-07T21:00:00Z', false],
    ['end 24:00: 23:59', [lateMonday], '2025-06-02T23:59:00Z', true],
    ['end 24:00: midnight is the next day', [lateMonday], '2025-06-03T00:00:00Z', false],
    ['another zone (UTC-4 in summer)', [newYork], '2025-06-07T13:30:00Z', true],
    ['another zone, outside', [newYork], '2025-06-07T09:30:00Z', false],
    ['any of several windows', [newYork, officeHours], '2025-06-02T08:00:00Z', true],
  ])('%s', (_name, windows, iso, expected) => {
    expect(inside(windows, iso)).toBe(expected);
  });

  it('says when it is now in each window zone and what to do', () => {
    const policy = policyOf([{ ...baseRule, changeWindows: [officeHours, newYork] }]);
    const result = evaluatePolicy(policy, inputOf({ now: Date.parse('2025-06-07T08:15:00Z') }));
    expect(result).toMatchObject({ allowed: false, status: 403 });
    expect(result.reasons).toHaveLength(1);
    const message = result.reasons[0]?.message ?? '';
    expect(result.reasons[0]?.rule).toBe('r.changeWindows');
    expect(message).toContain('Mon–Fri 08:00–18:00 Europe/Amsterdam (it is Sat 10:15 there)');
    expect(message).toContain('Sat 09:00–10:00 America/New_York (it is Sat 04:15 there)');
    expect(message).toContain('retry inside a window');
  });

  it.each([Number.NaN, Number.POSITIVE_INFINITY, 9e15, -9e15])('refuses an invalid clock value %d', (now) => {
    const policy = policyOf([{ ...baseRule, changeWindows: [officeHours] }]);
    const result = evaluatePolicy(policy, inputOf({ now }));
    expect(result.allowed).toBe(false);
    expect(result.reasons[0]?.message).toContain('not a valid instant');
  });

  it.each([
    [{ ...officeHours, timeZone: 'Europe/Atlantis' }, '/rules/0/changeWindows/0/timeZone'],
    [{ ...officeHours, timeZone: 'CEST+2' }, '/rules/0/changeWindows/0/timeZone'],
    // Known zones whose sign reads backwards (Etc/GMT+2 is UTC-2): a window there opens hours off.
    [{ ...officeHours, timeZone: 'Etc/GMT+2' }, '/rules/0/changeWindows/0/timeZone'],
    [{ ...officeHours, timeZone: 'Etc/GMT-10' }, '/rules/0/changeWindows/0/timeZone'],
    [{ ...officeHours, timeZone: 'GMT+0' }, '/rules/0/changeWindows/0/timeZone'],
    [{ ...officeHours, end: '08:00' }, '/rules/0/changeWindows/0/end'],
    [{ ...officeHours, start: '8:00' }, '/rules/0/changeWindows/0/start'],
    [{ ...officeHours, start: '24:00' }, '/rules/0/changeWindows/0/start'],
    [{ ...officeHours, end: '18:60' }, '/rules/0/changeWindows/0/end'],
    [{ ...officeHours, days: ['Monday'] }, '/rules/0/changeWindows/0/days/0'],
    [{ ...officeHours, days: [] }, '/rules/0/changeWindows/0/days'],
    [{ days: ['Mon'], start: '08:00', end: '18:00' }, '/rules/0/changeWindows/0/timeZone'],
  ])('refuses window %j at load', (window, at) => {
    const problems = problemsOfPolicy({ version: 1, rules: [{ ...baseRule, changeWindows: [window] }] });
    expect(problems.map((problem) => problem.pointer)).toContain(at);
  });

  it('says why an Etc/GMT zone is refused, and keeps UTC and Etc/UTC', () => {
    const posix = problemsOfPolicy({
      version: 1,
      rules: [{ ...baseRule, changeWindows: [{ ...officeHours, timeZone: 'Etc/GMT+2' }] }],
    });
    expect(posix[0]?.message).toContain('Etc/GMT+2 is UTC-2');
    for (const timeZone of ['UTC', 'Etc/UTC', 'Etc/GMT', 'GMT']) {
      expect(() => policyOf([{ ...baseRule, changeWindows: [{ ...officeHours, timeZone }] }])).not.toThrow();
    }
  });
});
