import type { Principal } from './auth';
import { Forbidden } from './errors';

/**
 * Who may run a command, judged after authentication and after the aggregate is loaded,
 * so a rule can look at the resource (the pharmacy an offer belongs to).
 */
export type Policy<Subject> = (principal: Principal, subject: Subject) => void;

const isAdmin = (principal: Principal) => principal.kind === 'user' && principal.roles.includes('admin');

export function adminOnly(): Policy<unknown> {
  return (principal) => {
    if (!isAdmin(principal)) throw new Forbidden('only an administrator may do this');
  };
}

/** Admins, or users holding one of `roles`. */
export function roles(...allowed: string[]): Policy<unknown> {
  return (principal) => {
    if (isAdmin(principal)) return;
    if (principal.kind !== 'user' || !principal.roles.some((role) => allowed.includes(role))) {
      throw new Forbidden(`this needs one of the roles: admin, ${allowed.join(', ')}`);
    }
  };
}

/**
 * Admins; pharmacists bound to the pharmacy; partner clients bound to it with `scope`.
 * `pharmacyOf` names the pharmacy the command touches (undefined: none yet, so only admins).
 */
export function pharmacyStaff<Subject>(scope: string, pharmacyOf: (subject: Subject) => string | undefined): Policy<Subject> {
  return (principal, subject) => {
    if (isAdmin(principal)) return;
    const pharmacyId = pharmacyOf(subject);
    const staff = principal.kind === 'user' ? principal.roles.includes('pharmacist') : principal.scopes.includes(scope);
    if (!staff) throw new Forbidden('this needs an administrator, a pharmacist or a partner with ' + scope);
    if (!pharmacyId || !principal.pharmacyIds.includes(pharmacyId.toLowerCase())) {
      throw new Forbidden('you are not bound to this pharmacy');
    }
  };
}
