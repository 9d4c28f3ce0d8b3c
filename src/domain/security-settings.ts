// The choices of the security settings (DESIGN.md "Domain" → Security settings) that the server,
// the API and the operator portal all name.

/** How the initial PIN of a card is handed over during issuance. */
export const INITIAL_PIN_DISPLAY_MODES = ['displayed', 'disguised', 'not_displayed'] as const;
export type InitialPinDisplayMode = (typeof INITIAL_PIN_DISPLAY_MODES)[number];

/** The ways a person may sign in to the user portal. */
export const PORTAL_AUTH_METHODS = ['initial_password', 'directory_password', 'security_questions'] as const;
export type PortalAuthMethod = (typeof PORTAL_AUTH_METHODS)[number];

/** How many security questions each person answers. */
export const SECURITY_QUESTION_COUNT = { min: 1, max: 10 } as const;
/** How long an initial password stays valid once issued, in hours (720 h = 30 days). */
export const INITIAL_PASSWORD_VALIDITY_HOURS = { min: 1, max: 720 } as const;
/** Wrong tries that burn an initial password. */
export const INITIAL_PASSWORD_MAX_ATTEMPTS = { min: 1, max: 20 } as const;
