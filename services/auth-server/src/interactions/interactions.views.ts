import { describeAuthorizationDetail } from '../rar/rar.rules';
import type { CustomerAccount } from './interactions.ports';

/** HTML-escapes text for element content and quoted attribute values. */
export function escapeHtml(value: string): string {
  return value.replace(
    /[&<>"']/g,
    (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!,
  );
}

function page(title: string, body: string): string {
  return `<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><title>${escapeHtml(title)}</title></head>
<body><main>
<h1>${escapeHtml(title)}</h1>
${body}
</main></body>
</html>`;
}

/**
 * The login page. Stable form contract (issue 4): inputs `username` and `password`.
 * Server-rendered, no script, no third-party assets.
 */
export function loginPage(options: {
  action: string;
  clientName: string;
  failed: boolean;
  /** The bank's own application: it signs the customer in and asks for no account access. */
  firstParty?: boolean;
}): string {
  const purpose = options.firstParty
    ? `Sign in to continue to ${escapeHtml(options.clientName)}.`
    : `${escapeHtml(options.clientName)} is asking to access your accounts.`;
  return page(
    'Sign in to your bank',
    `<p>${purpose}</p>
${options.failed ? '<p role="alert">The username or password is not correct.</p>' : ''}
<form method="post" action="${escapeHtml(options.action)}">
<p><label for="username">Username</label> <input id="username" name="username" autocomplete="username" required></p>
<p><label for="password">Password</label> <input id="password" name="password" type="password" autocomplete="current-password" required></p>
<p><button type="submit">Sign in</button></p>
</form>`,
  );
}

/**
 * The consent page. Stable form contract: checkboxes `accounts`, buttons `decision` with
 * values `approve` and `deny`.
 */
export function consentPage(options: {
  action: string;
  clientName: string;
  scopes: string[];
  accounts: CustomerAccount[];
  /** RFC 9396 authorization_details, each shown in full (rar.rules.ts allows nothing it cannot show). */
  authorizationDetails?: Record<string, unknown>[];
  /** Verified identity data on offer, one line per verification (empty: asked, none matches). */
  identity?: string[];
}): string {
  const scopes = options.scopes.map((scope) => `<li>${escapeHtml(scope)}</li>`).join('');
  const details = (options.authorizationDetails ?? [])
    .map(describeAuthorizationDetail)
    .map(
      ({ title, lines }) =>
        `<li><strong>${escapeHtml(title)}</strong>${lines.length > 0 ? `<ul>${lines.map((line) => `<li>${escapeHtml(line)}</li>`).join('')}</ul>` : ''}</li>`,
    )
    .join('');
  const accounts = options.accounts
    .map(
      (account) =>
        `<li><label><input type="checkbox" name="accounts" value="${escapeHtml(account.accountId)}"> ${escapeHtml(account.displayName)}</label></li>`,
    )
    .join('');
  return page(
    'Share your account information',
    `<p>${escapeHtml(options.clientName)} asks for:</p>
<ul>${scopes}</ul>
${details ? `<section aria-labelledby="details-heading"><h2 id="details-heading">In detail</h2><ul>${details}</ul></section>` : ''}
<form method="post" action="${escapeHtml(options.action)}">
${options.identity ? identityFieldset(options.identity) : ''}
<fieldset><legend>Accounts to share</legend><ul>${accounts}</ul></fieldset>
<p><button type="submit" name="decision" value="approve">Allow</button>
<button type="submit" name="decision" value="deny">Deny</button></p>
</form>`,
  );
}

/**
 * The identity data on offer, each line as the bank verified it, with an opt-in checkbox
 * `verified_claims=share` (unticked: nothing is released).
 */
function identityFieldset(identity: string[]): string {
  if (identity.length === 0) {
    return '<p>This app asked for verified identity data that the bank does not hold for you; none will be shared.</p>';
  }
  const lines = identity.map((line) => `<li>${escapeHtml(line)}</li>`).join('');
  return `<fieldset><legend>Verified identity</legend>
<p>The app asks for identity data the bank verified when you became a customer:</p>
<ul>${lines}</ul>
<p><label><input type="checkbox" name="verified_claims" value="share"> Share my verified identity data with this app</label></p>
</fieldset>`;
}

/** The engine's error page: the OAuth error code only, never internal detail. */
export function errorPage(error: string): string {
  return page('Something went wrong', `<p>The request could not be completed (<code>${escapeHtml(error)}</code>).</p>`);
}
