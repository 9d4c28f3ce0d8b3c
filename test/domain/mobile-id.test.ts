// The mobile ID policy's options as pure rules: whom the person hears from for each "notify"
// setting, and the properties rendered for one person into the enrolment.
import { describe, expect, it } from 'vitest';
import { MOBILE_ID_NOTIFY, notifies, renderMobileIdProperties } from '../../src/domain/mobile-id.js';

describe('mobile ID policy options', () => {
  it('notify: none, success, failure or both — each outcome told exactly as chosen', () => {
    const table = MOBILE_ID_NOTIFY.map((n) => [n, notifies(n, 'success'), notifies(n, 'failure')]);
    expect(table).toEqual([
      ['none', false, false],
      ['success', true, false],
      ['failure', false, true],
      ['both', true, true],
    ]);
  });

  it('properties: each placeholder rendered for the person, unknown properties empty, fixed text kept', () => {
    const person = {
      id: 'u-1',
      username: 'alice',
      displayName: 'Alice Archer',
      email: null,
      properties: { department: 'Engineering' },
    };
    expect(
      renderMobileIdProperties(
        [
          { name: 'server', value: '${server}' },
          { name: 'who', value: '${username} (${userId})' },
          { name: 'dept', value: 'D: ${properties.department}${properties.none}' },
          { name: 'mail', value: '${email}' },
          { name: 'fixed', value: 'phone' },
        ],
        person,
        'https://id.example',
      ),
    ).toEqual({
      server: 'https://id.example',
      who: 'alice (u-1)',
      dept: 'D: Engineering',
      mail: '',
      fixed: 'phone',
    });
  });
});
