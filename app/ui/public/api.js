// Calls to the Exhibit API with the session cookie; state-changing calls carry the CSRF token.

let csrfToken = null;
export let me = null;

export class ApiError extends Error {
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

export async function request(method, path, body, headers = {}) {
  const h = { Accept: 'application/json', ...headers };
  let payload;
  if (body instanceof Blob) payload = body;
  else if (body !== undefined) {
    h['Content-Type'] = 'application/json';
    payload = JSON.stringify(body);
  }
  if (method !== 'GET' && csrfToken) h['X-CSRF-Token'] = csrfToken;
  const res = await fetch(path, { method, headers: h, body: payload, credentials: 'same-origin' });
  const text = await res.text();
  let data = null;
  try {
    data = text ? JSON.parse(text) : null;
  } catch {
    data = null;
  }
  if (!res.ok) throw new ApiError(res.status, data?.code ?? 'HTTP_' + res.status, data?.message ?? res.statusText);
  return data;
}

export const get = (p) => request('GET', p);
export const post = (p, b, headers) => request('POST', p, b, headers);
export const patch = (p, b) => request('PATCH', p, b);
export const del = (p) => request('DELETE', p);

/** Who is signed in (null when nobody). */
export async function loadSession() {
  try {
    const info = await get('/api/session');
    csrfToken = info.csrfToken;
    me = info.user;
  } catch (e) {
    if (e.status !== 401) throw e;
    csrfToken = null;
    me = null;
  }
  return me;
}

export async function login(name, token) {
  const info = await post('/api/session', { name, token });
  csrfToken = info.csrfToken;
  me = info.user;
  return me;
}

export async function logout() {
  await del('/api/session').catch(() => undefined);
  csrfToken = null;
  me = null;
}

export const enc = encodeURIComponent;
export const artifactUrl = (caseId, captureId, name, download = false) => `/api/cases/${enc(caseId)}/captures/${enc(captureId)}/artifacts/${name.split('/').map(enc).join('/')}${download ? '?download' : ''}`;
