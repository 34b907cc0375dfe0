import { renderGraphiQL } from '@graphql-yoga/render-graphiql';

/** Where the page keeps the token for the tab (never beyond it). */
const TOKEN_KEY = 'patchbay-ide-token';

/**
 * Runs in the page instead of rendering GraphiQL at once: every request, the schema's
 * introspection included, needs a token, so the page asks for one first (the one of this tab,
 * if it still works), checks it with a `{ __typename }` request, and only then renders
 * GraphiQL with it on every request. A refused token shows the gateway's reason.
 */
const GATE = `
function patchbayIde(root, options) {
  const endpoint = options.endpoint || location.pathname;
  const refusal = (token) =>
    fetch(endpoint, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/graphql-response+json', authorization: token },
      body: '{"query":"{ __typename }"}',
    }).then(
      (response) => (response.ok ? undefined : response.json().then((body) => (body.errors && body.errors[0] && body.errors[0].message) || 'HTTP ' + response.status, () => 'HTTP ' + response.status)),
      (error) => String(error),
    );
  const open = (token) => {
    sessionStorage.setItem(${JSON.stringify(TOKEN_KEY)}, token);
    root.replaceChildren();
    YogaGraphiQL.renderYogaGraphiQL(root, Object.assign({}, options, { additionalHeaders: { Authorization: token } }));
  };
  const ask = (problem) => {
    const form = document.createElement('form');
    form.className = 'patchbay-token';
    form.innerHTML =
      '<h1>' + (options.title || 'GraphQL') + '</h1>' +
      '<label for="patchbay-token">A bearer token for this gateway</label>' +
      '<input id="patchbay-token" name="token" autocomplete="off" spellcheck="false" placeholder="eyJhbGciOi...">' +
      '<p>Locally: <code>npm run -s token -- usr_00001</code> (scopes after the user: <code>admin</code>, <code>email:send</code>, <code>analytics:read</code>)</p>' +
      '<p class="problem" role="alert"></p><button type="submit">Open the IDE</button>';
    if (problem) form.querySelector('.problem').textContent = 'That token was refused: ' + problem;
    form.addEventListener('submit', (event) => {
      event.preventDefault();
      const given = form.querySelector('input').value.trim();
      const token = /^bearer /i.test(given) ? given : 'Bearer ' + given;
      refusal(token).then((reason) => (reason ? ask(reason) : open(token)));
    });
    root.replaceChildren(form);
    form.querySelector('input').focus();
  };
  const kept = sessionStorage.getItem(${JSON.stringify(TOKEN_KEY)});
  if (!kept) return ask();
  refusal(kept).then((reason) => (reason ? ask(reason) : open(kept)));
}
`;

const STYLE = `
.patchbay-token { max-width: 40rem; margin: 12vh auto; font: 16px/1.5 system-ui, sans-serif; display: grid; gap: 0.75rem; }
.patchbay-token input { font: 14px monospace; padding: 0.5rem; }
.patchbay-token button { justify-self: start; padding: 0.4rem 1rem; }
.patchbay-token .problem { color: #b00020; min-height: 1.5em; }
`;

/**
 * The GraphQL IDE page: Yoga's GraphiQL, bundled from npm (nothing loads from elsewhere),
 * behind the token gate above, so that the schema loads with the first page instead of
 * failing 401 before a token could be given.
 */
export function renderIde(options: Parameters<typeof renderGraphiQL>[0]): string {
  const page = renderGraphiQL(options);
  const call = 'YogaGraphiQL.renderYogaGraphiQL(';
  // The page ends by rendering GraphiQL; that one call goes through the gate instead.
  if (!page.includes(call)) throw new Error('the GraphiQL page no longer renders through YogaGraphiQL.renderYogaGraphiQL');
  return page.replace(call, () => `${GATE}\npatchbayIde(`).replace('</style>', () => `${STYLE}</style>`);
}
