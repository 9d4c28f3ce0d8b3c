// The one place @peculiar/x509 is imported: its 2.x build resolves algorithm providers through
// tsyringe, which needs reflect-metadata loaded before it (RECIPES "X.509 with @peculiar/x509").
import 'reflect-metadata';
import * as x509 from '@peculiar/x509';
import { webcrypto } from 'node:crypto';

export { x509 };

/** WebCrypto handed to @peculiar/x509 explicitly instead of registering a global provider. */
export const crypto = webcrypto as unknown as Crypto;
