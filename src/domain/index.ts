// The pure domain of Tessera: rules with no I/O, importable by the server and by the web app.

export * from './errors.js';
export * from './state-machine.js';
export * from './roles.js';
export * from './user.js';
export * from './device.js';
export * from './credential.js';
export * from './key-algorithm.js';
export * from './credential-profile.js';
export * from './request.js';
export * from './replacement.js';
export * from './issuance-job.js';
export * from './pin-policy.js';
export * from './permissions.js';
export * from './security-questions.js';
export * from './security-settings.js';
export * from './fascn.js';
export * from './card-layout.js';
export * from './piv-layout.js';
export * from './photo.js';
export * from './suspension.js';
