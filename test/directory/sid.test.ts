// objectSid as Active Directory returns it (binary, MS-DTYP §2.4.2.2) into the string form the
// certificate's SID extension carries.
import { describe, expect, it } from 'vitest';
import { sidString } from '../../src/directory/ldap-directory.js';

describe('sidString', () => {
  it('reads a binary SID: revision, count, 48-bit authority, little-endian sub-authorities', () => {
    // S-1-5-21-3623811015-3361044348-30300820-1013, as an AD server sends it.
    const bin = Buffer.from('010500000000000515000000c7f7fed77c7755c8945ace01f5030000', 'hex');
    expect(sidString(bin)).toBe('S-1-5-21-3623811015-3361044348-30300820-1013');
  });
  it('takes a SID already in string form, and nothing else', () => {
    expect(sidString('S-1-5-21-1-2-3-500')).toBe('S-1-5-21-1-2-3-500');
    expect(sidString(Buffer.from('S-1-5-32-544'))).toBe('S-1-5-32-544');
    expect(sidString('alice')).toBeNull();
    expect(sidString(Buffer.from('0105000000000005150000', 'hex'))).toBeNull();
  });
});
