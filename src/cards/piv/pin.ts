// PIN and PUK reference data as PIV cards compare it (SP 800-73-4 Part 2 §2.4.3): 6 to 8 bytes,
// padded to 8 with FF. The PIN is digits per the spec; YubiKeys accept any printable ASCII.
export function padPinBytes(value: string, what: 'PIN' | 'PUK'): Uint8Array {
  const bytes = Buffer.from(value, 'utf8');
  if (bytes.length < 6 || bytes.length > 8) throw new RangeError(`${what} must be 6 to 8 characters`);
  const out = new Uint8Array(8).fill(0xff);
  out.set(bytes, 0);
  return out;
}
