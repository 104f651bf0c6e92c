/**
 * The portal as the customer's authentication device (FAPI-CIBA): the decoupled requests waiting
 * for the customer's decision, each with the client's binding message set apart so that it can be
 * compared with what the client shows, what is asked for, the accounts to choose and the
 * approve and deny buttons. Same rules as every portal page: no script, everything escaped.
 */
import type { RequestDetails } from '../ciba/ciba.service';
import { kindLabel, scopeLabel } from './portal.rules';
import { escapeHtml, page, time, tppHeading, whatItAllows, type AccountView, type TppView } from './portal.views';

/** One pending request as the page shows it. */
export interface RequestView {
  details: RequestDetails;
  /** The client's name (as auth-server sent it) and its registered logo. */
  tpp: TppView;
  /** The accounts the customer may select, labelled. */
  selectable: AccountView[];
}

function bindingMessage(view: RequestView): string {
  const { bindingMessage: message } = view.details.authentication;
  const name = escapeHtml(view.tpp.name);
  return message
    ? `<div class="binding"><p>Only approve if ${name} shows you this code right now:</p><strong>${escapeHtml(message)}</strong></div>`
    : `<div class="binding"><p>${name} sent no code to compare. Only approve if you asked ${name} for this just now.</p></div>`;
}

function whatIsAsked(details: RequestDetails): string {
  const scopes = details.authentication.scope.split(' ').filter(Boolean);
  const rows = [
    `<dt>Access</dt><dd><ul>${scopes.map((scope) => `<li>${escapeHtml(scopeLabel(scope))}</li>`).join('')}</ul></dd>`,
  ];
  if (details.intent) {
    rows.push(
      `<dt>Type</dt><dd>${escapeHtml(kindLabel(details.intent.kind))}</dd>`,
      `<dt>${details.intent.kind === 'domestic-payment' ? 'Payment' : 'Permissions'}</dt><dd>${whatItAllows(details.intent)}</dd>`,
    );
  }
  if (details.intentUnavailable) {
    rows.push('<dt>Details</dt><dd>The details of this request are no longer available. You can only deny it.</dd>');
  }
  return rows.join('\n');
}

function accountChoice(view: RequestView, formId: string): string {
  const { choice } = view.details;
  if (choice === 'none') return '';
  if (view.selectable.length === 0) {
    return '<p>None of your accounts can be used for this request. You can only deny it.</p>';
  }
  const single = choice === 'one';
  const legend = single
    ? 'Account to pay from'
    : choice === 'several'
      ? 'Accounts to share (choose at least one)'
      : 'Accounts to share';
  // Radio buttons share one name; checkboxes each have their own (the portal's forms refuse a
  // repeated parameter).
  const inputs = view.selectable
    .map((account) => {
      const id = `${formId}-${account.accountId}`;
      const input = single
        ? `<input type="radio" id="${escapeHtml(id)}" name="account" value="${escapeHtml(account.accountId)}"${view.selectable.length === 1 ? ' checked' : ''}>`
        : `<input type="checkbox" id="${escapeHtml(id)}" name="account.${escapeHtml(account.accountId)}" value="${escapeHtml(account.accountId)}">`;
      return `<li>${input} <label for="${escapeHtml(id)}">${escapeHtml(account.label)}</label></li>`;
    })
    .join('');
  return `<fieldset><legend>${legend}</legend><ul>${inputs}</ul></fieldset>`;
}

function requestArticle(view: RequestView, csrfToken: string): string {
  const { authentication, intentUnavailable, choice } = view.details;
  const headingId = `request-${authentication.id}`;
  const approvable = !intentUnavailable && !(choice !== 'none' && view.selectable.length === 0);
  return `<article aria-labelledby="${escapeHtml(headingId)}">
${tppHeading(view.tpp, headingId)}
${bindingMessage(view)}
<dl>
${whatIsAsked(view.details)}
<dt>Asked</dt><dd>${time(authentication.createdAt)}</dd>
<dt>Answer by</dt><dd>${time(authentication.expiresAt)}</dd>
<dt>Reference</dt><dd><code>${escapeHtml(authentication.intentId ?? authentication.id)}</code></dd>
</dl>
<form method="post" action="/portal/requests/${encodeURIComponent(authentication.id)}">
<input type="hidden" name="csrf_token" value="${escapeHtml(csrfToken)}">
${approvable ? accountChoice(view, `request-${authentication.id}`) : ''}
<p>${approvable ? '<button type="submit" name="decision" value="approve" class="approve">Approve</button> ' : ''}<button type="submit" name="decision" value="deny" class="danger">Deny</button></p>
</form>
</article>`;
}

/** The customer's pending decoupled requests, newest first. */
export function requestsPage(options: { requests: RequestView[]; csrfToken: string; notice?: string }): string {
  const notice = options.notice ? `<p class="notice" role="status">${escapeHtml(options.notice)}</p>` : '';
  const list =
    options.requests.length === 0
      ? '<p>No app is waiting for your approval.</p>'
      : options.requests.map((view) => requestArticle(view, options.csrfToken)).join('\n');
  return page(
    'Requests to approve',
    `${notice}<p>An app asked your bank to confirm it is you and to let it access your accounts or make a payment. Approve only requests you started yourself, and only when the code matches.</p>
${list}`,
    { signedIn: { csrfToken: options.csrfToken }, section: 'requests' },
  );
}
