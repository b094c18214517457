// Who may do what on the platform: participant kinds and roles, the rights a first head grants,
// and the default policy of which certificate may sign which action (DOMAIN.md section 3).
import { UppError } from './errors.js';

export const PARTICIPANT_KINDS = [
  'legal_entity',
  'branch',
  'individual_entrepreneur',
  'individual',
  'non_resident',
] as const;
export type ParticipantKind = (typeof PARTICIPANT_KINDS)[number];

/** Roles a participant asks for at registration; operator roles are given by an administrator. */
export const REQUESTABLE_ROLES = ['customer', 'organizer', 'potential_supplier'] as const;
export const OPERATOR_ROLES = ['single_operator', 'operator'] as const;
export type ParticipantRole =
  | (typeof REQUESTABLE_ROLES)[number]
  | (typeof OPERATOR_ROLES)[number]
  | 'single_organizer'
  | 'supplier';

/** Categories that lower fees; an operator confirms them before they count. */
export const CATEGORIES = ['state_institution', 'disability_association'] as const;
export type Category = (typeof CATEGORIES)[number];

/** Rights a first head grants to the participant's users. */
export const RIGHTS = [
  'sign_applications',
  'sign_contracts',
  'sign_payments',
  'manage_users',
] as const;
export type Right = (typeof RIGHTS)[number];

/** Roles read from an NCA RK certificate (extended key usage). */
export type CertificateRole =
  | 'individual'
  | 'legal_entity'
  | 'first_head'
  | 'signing_right'
  | 'financial_signing_right'
  | 'hr'
  | 'employee';

/** Kinds of signed action, grouped as the policy table groups them. */
export type SignedActionClass =
  | 'registration' // register a legal entity or branch, accept a public offer
  | 'participation' // application, price offer, single-source agreement, contract
  | 'payment' // payment-related documents
  | 'user_management' // add or remove users, grant rights
  | 'other'; // any other document of the participant

export interface SignerIdentity {
  /** Who the person is across certificates: `iin:<IIN>`, or the subject name of a foreign one. */
  key: string;
  iin: string | undefined;
  bin: string | undefined;
  roles: readonly CertificateRole[];
  keyPurpose: 'sign' | 'auth' | 'unknown';
}

export interface ParticipantIdentity {
  kind: ParticipantKind;
  bin: string | null;
  iin: string | null;
}

export interface Membership {
  firstHead: boolean;
  rights: readonly Right[];
}

interface ClassRule {
  /** Certificate roles, one of which a legal entity's signer must hold. */
  legalEntityRoles: readonly CertificateRole[];
  /** The granted right that also lets a user sign it (besides a first head). */
  right: Right | undefined;
}

/** The default policy, as data: one row per class of action. */
export const SIGNING_POLICY: Readonly<Record<SignedActionClass, ClassRule>> = {
  registration: { legalEntityRoles: ['first_head'], right: undefined },
  participation: {
    legalEntityRoles: ['first_head', 'signing_right'],
    right: 'sign_applications',
  },
  payment: { legalEntityRoles: ['first_head', 'financial_signing_right'], right: 'sign_payments' },
  user_management: { legalEntityRoles: ['first_head'], right: 'manage_users' },
  other: {
    legalEntityRoles: ['first_head', 'signing_right', 'financial_signing_right', 'hr', 'employee'],
    right: undefined,
  },
};

function refuse(code: string, message: string): never {
  throw new UppError(code, 403, message);
}

const ORGANISATIONS: readonly ParticipantKind[] = ['legal_entity', 'branch'];

/**
 * Decides whether a certificate may sign an action of `participant`, as `membership` (undefined
 * for a registration, when nobody is a member yet). Throws a UppError with a specific code.
 */
export function checkSigner(
  actionClass: SignedActionClass,
  signer: SignerIdentity,
  participant: ParticipantIdentity,
  membership: Membership | undefined,
): void {
  if (signer.keyPurpose !== 'sign') {
    refuse('cert.wrong_purpose', 'documents are signed with a signing key, not an auth key');
  }
  if (ORGANISATIONS.includes(participant.kind)) {
    checkOrganisationSigner(actionClass, signer, participant);
  } else if (participant.kind !== 'non_resident' && signer.iin !== participant.iin) {
    refuse('signer.wrong_iin', 'the certificate IIN is not the participant IIN');
  }
  if (actionClass === 'registration') return;
  if (membership === undefined) {
    refuse('signer.not_member', 'the signer is not a user of this participant');
  }
  const rule = SIGNING_POLICY[actionClass];
  if (membership.firstHead || rule.right === undefined) return;
  if (!membership.rights.includes(rule.right)) {
    refuse('signer.right_missing', `signing this needs the right ${rule.right}`);
  }
}

function checkOrganisationSigner(
  actionClass: SignedActionClass,
  signer: SignerIdentity,
  participant: ParticipantIdentity,
): void {
  if (signer.bin === undefined || !signer.roles.includes('legal_entity')) {
    refuse('signer.not_legal_entity', "an organisation's documents need a legal-entity key");
  }
  if (signer.bin !== participant.bin) {
    refuse('signer.wrong_bin', 'the certificate BIN is not the participant BIN');
  }
  const allowed = SIGNING_POLICY[actionClass].legalEntityRoles;
  if (!signer.roles.some((role) => allowed.includes(role))) {
    refuse('signer.role_missing', `signing this needs one of the roles ${allowed.join(', ')}`);
  }
}
