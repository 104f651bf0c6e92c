import type { RequestHandler, Response } from 'express';
import { bearerTokenOf, requireScopeOf, type AdminPrincipal, type AdminScope } from './access.tokens';

export type VerifyAccessToken = (token: string) => Promise<AdminPrincipal>;

/**
 * Express guard: the request carries a valid admin access token with `scope`. The principal is
 * kept on `res.locals` for the audit trail (`principalOf`).
 *
 * @example
 * router.put('/v1/settings', guard('obip:config:write'), updateSettings);
 */
export function createAccessGuard(verify: VerifyAccessToken) {
  return function guard(scope: AdminScope): RequestHandler {
    return async function checkAccess(req, res, next) {
      try {
        const principal = await verify(bearerTokenOf(req.get('authorization')));
        requireScopeOf(principal, scope);
        res.locals.principal = principal;
        next();
      } catch (error) {
        next(error);
      }
    };
  };
}

/** The caller a guard admitted; only valid after a guard ran. */
export function principalOf(res: Response): AdminPrincipal {
  const principal = (res.locals as { principal?: AdminPrincipal }).principal;
  if (!principal) throw new Error('principalOf called on a route without an access guard');
  return principal;
}
