/**
 * The portal's pages: server-rendered HTML, no script, one stylesheet of its own, every value
 * escaped. Accessible by construction: a language, a title and one h1 per page, landmarks,
 * labelled sections, status in words (never colour alone), native disclosure for history.
 */
import type { Consent, ConsentHistoryEntry } from '../consents/consents.model';
import {
  actorLabel,
  displayableLogoUri,
  identityClaimLabel,
  isRevocable,
  kindLabel,
  permissionLabel,
} from './portal.rules';

/** HTML-escapes text for element content and quoted attribute values. */
export function escapeHtml(value: string): string {
  return value.replace(
    /[&<>"']/g,
    (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!,
  );
}

/** What the page shows of a TPP: its registered name and logo (from dcr-service). */
export interface TppView {
  name: string;
  logoUri: string | undefined;
}

/** A customer account as the page names it. */
export interface AccountView {
  accountId: string;
  label: string;
}

export interface ConsentView {
  consent: Consent;
  tpp: TppView;
  accounts: AccountView[];
}

export const STYLESHEET_PATH = '/portal/static/portal.css';

/** The stylesheet (served by the portal itself: the CSP allows styles from 'self' only). */
export const STYLESHEET = `:root{font-family:system-ui,sans-serif;line-height:1.5;color:#1b1b1b;background:#fff}
body{margin:0}header,main{max-width:48rem;margin:0 auto;padding:1rem}
header{display:flex;justify-content:space-between;align-items:center;border-bottom:1px solid #ccc}
.skip{position:absolute;left:-999px}.skip:focus{left:1rem;top:1rem;background:#fff;padding:.5rem}
.vh{position:absolute;width:1px;height:1px;overflow:hidden;clip-path:inset(50%);white-space:nowrap}
article{border:1px solid #bbb;border-radius:.5rem;padding:1rem;margin:1rem 0}
article h2{display:flex;align-items:center;gap:.75rem;margin:0 0 .5rem}
article h2 img{border-radius:.25rem}
dl{display:grid;grid-template-columns:max-content 1fr;gap:.25rem 1rem}dt{font-weight:600}dd{margin:0}
.status{display:inline-block;padding:0 .5rem;border:2px solid currentColor;border-radius:1rem;font-weight:600}
.status-Authorised{color:#0b6b2b}.status-Revoked,.status-Rejected,.status-Expired{color:#8a1c1c}
.notice{border-left:.375rem solid #0b6b2b;background:#eef7f0;padding:.75rem 1rem}
.danger{background:#8a1c1c;color:#fff;border:0;padding:.5rem 1rem;border-radius:.25rem;font-size:1rem}
a:focus,button:focus{outline:3px solid #1d5fbf;outline-offset:2px}
button.link{background:none;border:0;padding:0;color:#1d5fbf;text-decoration:underline;font-size:1rem;cursor:pointer}
nav{display:flex;gap:1rem}nav a[aria-current=page]{font-weight:600;text-decoration:none;color:inherit}
.binding{border:2px solid #1d5fbf;border-radius:.5rem;padding:.75rem 1rem;background:#eef3fb}
.binding strong{display:block;font-size:1.5rem;letter-spacing:.05em;overflow-wrap:anywhere}
fieldset{border:1px solid #bbb;border-radius:.25rem;margin:.75rem 0}fieldset ul{list-style:none;padding:0;margin:0}
.approve{background:#0b6b2b;color:#fff;border:0;padding:.5rem 1rem;border-radius:.25rem;font-size:1rem}
`;

const DATE = new Intl.DateTimeFormat('en-GB', { dateStyle: 'long', timeStyle: 'short', timeZone: 'UTC' });

export function time(at: Date): string {
  return `<time datetime="${at.toISOString()}">${escapeHtml(DATE.format(at))} UTC</time>`;
}

/** The portal's sections, linked from every signed-in page. */
const SECTIONS = [
  { id: 'consents', href: '/portal', label: 'Connected apps' },
  { id: 'requests', href: '/portal/requests', label: 'Requests to approve' },
] as const;

export type PortalSection = (typeof SECTIONS)[number]['id'];

function navigation(current: PortalSection | undefined): string {
  const links = SECTIONS.map(
    (section) =>
      `<a href="${section.href}"${section.id === current ? ' aria-current="page"' : ''}>${escapeHtml(section.label)}</a>`,
  ).join(' ');
  return `<nav aria-label="Portal">${links}</nav>`;
}

export function page(
  title: string,
  body: string,
  options: { signedIn?: { csrfToken: string }; section?: PortalSection } = {},
): string {
  const signOut = options.signedIn
    ? `${navigation(options.section)}<form method="post" action="/portal/logout"><input type="hidden" name="csrf_token" value="${escapeHtml(options.signedIn.csrfToken)}"><button type="submit" class="link">Sign out</button></form>`
    : '';
  return `<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(title)} – Your bank</title><link rel="stylesheet" href="${STYLESHEET_PATH}"></head>
<body><a class="skip" href="#main">Skip to content</a>
<header><span>Your bank · Connected apps</span>${signOut}</header>
<main id="main">
<h1>${escapeHtml(title)}</h1>
${body}
</main></body>
</html>`;
}

function statusBadge(status: string): string {
  return `<span class="status status-${escapeHtml(status)}">${escapeHtml(status === 'AwaitingAuthorisation' ? 'Awaiting authorisation' : status)}</span>`;
}

export function tppHeading(tpp: TppView, id: string): string {
  const logo = displayableLogoUri(tpp.logoUri);
  const image = logo ? `<img src="${escapeHtml(logo.href)}" alt="" width="40" height="40">` : '';
  return `<h2 id="${escapeHtml(id)}">${image}<span>${escapeHtml(tpp.name)}</span></h2>`;
}

/** What the consent allows, in words: permissions, payment, or scopes. */
export function whatItAllows(consent: Consent): string {
  if (consent.kind === 'domestic-payment') {
    const initiation = consent.request.Initiation as
      { InstructedAmount?: { Amount?: string; Currency?: string }; CreditorAccount?: { Name?: string } } | undefined;
    const amount = initiation?.InstructedAmount;
    const creditor = initiation?.CreditorAccount?.Name;
    return escapeHtml(
      `${amount?.Currency ?? ''} ${amount?.Amount ?? ''}${creditor ? ` to ${creditor}` : ''}`.trim() || 'A payment',
    );
  }
  const items = consent.kind === 'account-access' ? consent.permissions.map(permissionLabel) : consent.scopes;
  return items.length === 0
    ? 'Nothing listed'
    : `<ul>${items.map((item) => `<li>${escapeHtml(item)}</li>`).join('')}</ul>`;
}

function accountsList(accounts: AccountView[]): string {
  return accounts.length === 0
    ? 'None'
    : `<ul>${accounts.map((account) => `<li>${escapeHtml(account.label)}</li>`).join('')}</ul>`;
}

/**
 * The verified identity data the customer released with the consent, one line per verification:
 * which claims, checked under which trust framework. Names only: the values were never stored.
 */
function identityReleaseList(release: Consent['identityRelease']): string {
  const items = release.map(
    (entry) =>
      `<li>${escapeHtml(entry.claims.map(identityClaimLabel).join(', '))} — checked under ${escapeHtml(entry.trustFramework)}</li>`,
  );
  return `<ul>${items.join('')}</ul>`;
}

function historyList(history: ConsentHistoryEntry[], subject: string, tppName: string): string {
  const entries = [...history]
    .reverse()
    .map(
      (entry) =>
        `<li>${time(entry.at)}: ${escapeHtml(entry.from ? `${entry.from} → ${entry.to}` : entry.to)}, by ${escapeHtml(actorLabel(entry.actor, subject, tppName))}${entry.reason ? ` (${escapeHtml(entry.reason)})` : ''}</li>`,
    )
    .join('');
  return `<ol>${entries}</ol>`;
}

/** When the customer granted it: the first time it became Authorised. */
function grantedAt(consent: Consent): Date | undefined {
  return consent.history.find((entry) => entry.to === 'Authorised')?.at;
}

function consentArticle(view: ConsentView, subject: string): string {
  const { consent, tpp } = view;
  const headingId = `consent-${consent.id}`;
  const granted = grantedAt(consent);
  const revoke = isRevocable(consent)
    ? `<p><a href="/portal/consents/${encodeURIComponent(consent.id)}/revoke">Revoke access<span class="vh"> for ${escapeHtml(tpp.name)}</span></a></p>`
    : '';
  return `<article aria-labelledby="${escapeHtml(headingId)}">
${tppHeading(tpp, headingId)}
<p>Status: ${statusBadge(consent.status)}</p>
<dl>
<dt>Type</dt><dd>${escapeHtml(kindLabel(consent.kind))}</dd>
<dt>${consent.kind === 'domestic-payment' ? 'Payment' : 'Permissions'}</dt><dd>${whatItAllows(consent)}</dd>
<dt>Accounts</dt><dd>${accountsList(view.accounts)}</dd>
${consent.identityRelease.length > 0 ? `<dt>Verified identity shared</dt><dd>${identityReleaseList(consent.identityRelease)}</dd>` : ''}
<dt>Requested</dt><dd>${time(consent.createdAt)}</dd>
${granted ? `<dt>Granted</dt><dd>${time(granted)}</dd>` : ''}
<dt>Expires</dt><dd>${consent.expiresAt ? time(consent.expiresAt) : 'No expiry date'}</dd>
<dt>Last change</dt><dd>${time(consent.statusUpdatedAt)}</dd>
<dt>Reference</dt><dd><code>${escapeHtml(consent.id)}</code></dd>
</dl>
<details><summary>History</summary>${historyList(consent.history, subject, tpp.name)}</details>
${revoke}
</article>`;
}

/** The list of every consent the customer gave, newest first. */
export function consentsPage(options: {
  consents: ConsentView[];
  subject: string;
  csrfToken: string;
  notice?: string;
  nextPage?: string;
}): string {
  const notice = options.notice ? `<p class="notice" role="status">${escapeHtml(options.notice)}</p>` : '';
  const list =
    options.consents.length === 0
      ? '<p>You have not given any app access to your accounts.</p>'
      : options.consents.map((view) => consentArticle(view, options.subject)).join('\n');
  const more = options.nextPage
    ? `<p><a href="/portal?page=${encodeURIComponent(options.nextPage)}">Older consents</a></p>`
    : '';
  return page(
    'Apps with access to your accounts',
    `${notice}<p>These apps asked for access to your accounts or to make payments, and you agreed. You can stop an app’s access at any time.</p>
${list}
${more}`,
    { signedIn: { csrfToken: options.csrfToken }, section: 'consents' },
  );
}

/** The confirmation step before revoking. */
export function confirmRevokePage(options: { view: ConsentView; csrfToken: string }): string {
  const { consent, tpp } = options.view;
  return page(
    `Stop ${tpp.name}’s access?`,
    `<p>${escapeHtml(tpp.name)} will no longer be able to ${consent.kind === 'account-access' ? 'see your account information' : 'use this access'}. Any app session that relies on it ends now. This cannot be undone: to share again, you would start from the app.</p>
<dl>
<dt>What it allows</dt><dd>${whatItAllows(consent)}</dd>
<dt>Accounts</dt><dd>${accountsList(options.view.accounts)}</dd>
<dt>Reference</dt><dd><code>${escapeHtml(consent.id)}</code></dd>
</dl>
<form method="post" action="/portal/consents/${encodeURIComponent(consent.id)}/revoke">
<input type="hidden" name="csrf_token" value="${escapeHtml(options.csrfToken)}">
<p><button type="submit" class="danger">Yes, revoke access</button> <a href="/portal">No, keep access</a></p>
</form>`,
    { signedIn: { csrfToken: options.csrfToken }, section: 'consents' },
  );
}

/** After signing out. */
export function signedOutPage(): string {
  return page('You have signed out', '<p><a href="/portal">Sign in again</a></p>');
}

/** An error page: a title and a safe description, never internal detail. */
export function errorPage(options: { title: string; description: string; retry?: boolean }): string {
  return page(
    options.title,
    `<p>${escapeHtml(options.description)}</p>${options.retry ? '<p><a href="/portal">Go to your connected apps</a></p>' : ''}`,
  );
}

/** The origins a page's images come from, for its CSP `img-src`. */
export function imageOriginsOf(views: readonly { tpp: TppView }[]): string[] {
  const origins = new Set<string>();
  for (const { tpp } of views) {
    const logo = displayableLogoUri(tpp.logoUri);
    if (logo) origins.add(logo.origin);
  }
  return [...origins].sort();
}
