#!/usr/bin/env node
// configurable-http-proxy, as JupyterHub and the Zero to JupyterHub chart run it, with one change:
// a request routed to anything but the hub (a person's notebook server, a service) reaches it
// with only the cookies a notebook server needs. The OpenHexa App's session cookies (sessionid,
// csrftoken), whose domain covers the hub's host and so every path and subdomain under it, never
// reach a server a person controls. On the way back, a server sets only cookies of those names and
// only for its own host: a Set-Cookie of any other name (the App's sessionid, planted on a
// colleague who follows a link: a login to the attacker's session) or with a Domain (a cookie
// for the hub or the App's whole domain) is dropped. Script in a server's page can still set
// cookies (document.cookie): per-person origins on another site than the App's keep them apart.
//
// The mechanism is configurable-http-proxy's own: every request, web or websocket, is routed by
// ConfigurableProxy#targetForReq before it is proxied (lib/configproxy.js, handleProxy), and
// http-proxy-3 copies req.headers when it builds the outgoing request. The route decides, not
// the path: the proxy decodes a path before matching it (/%75ser/... is /user/...), so only the
// matched route is a safe guide. Then the stock command line runs, with all its flags.
//
//   OPENHEXA_PROXY_SERVER_COOKIES  comma-separated cookie names servers receive; a trailing *
//                                  matches a prefix (default: _xsrf, jupyterhub-*, and both with
//                                  the __Host- prefix JupyterHub.cookie_host_prefix_enabled adds)
import { ConfigurableProxy } from "configurable-http-proxy/lib/configproxy.js";

const DEFAULT_SERVER_COOKIES = "_xsrf,jupyterhub-*,__Host-_xsrf,__Host-jupyterhub-*";

function cookiePatterns(setting = process.env.OPENHEXA_PROXY_SERVER_COOKIES) {
  const text = setting === undefined || setting.trim() === "" ? DEFAULT_SERVER_COOKIES : setting;
  return text
    .split(",")
    .map((pattern) => pattern.trim())
    .filter(Boolean);
}

function matches(name, pattern) {
  return pattern.endsWith("*") ? name.startsWith(pattern.slice(0, -1)) : name === pattern;
}

// The Cookie header with only the cookies whose names match one of the patterns; undefined when none.
function serverCookies(header, patterns) {
  if (!header) return undefined;
  const kept = header
    .split(";")
    .map((pair) => pair.trim())
    .filter((pair) => {
      const name = pair.split("=", 1)[0].trim();
      return pair && patterns.some((pattern) => matches(name, pattern));
    });
  return kept.length ? kept.join("; ") : undefined;
}

// The hub's route: "/" (JupyterHub's hub_routespec with base_url "/", with or without
// subdomain_host, and the chart's --default-target), or any route JupyterHub marks {hub: true}.
// (_routes is the proxy's own route store, the one targetForReq reads.)
async function isHubRoute(proxy, prefix) {
  if (prefix === "/") return true;
  const route = await proxy._routes.get(prefix);
  return Boolean(route && route.hub === true);
}

// The Set-Cookie headers a server may send: a name it may receive, and no Domain attribute.
function serverSetCookies(headers, patterns) {
  return headers.filter((header) => {
    const [pair, ...attributes] = header.split(";");
    const name = pair.split("=", 1)[0].trim();
    const domain = attributes.some((attribute) => attribute.trim().toLowerCase().startsWith("domain="));
    return !domain && patterns.some((pattern) => matches(name, pattern));
  });
}

const patterns = cookiePatterns();
const toServer = Symbol("openhexa: routed to a server");
const targetForReq = ConfigurableProxy.prototype.targetForReq;
ConfigurableProxy.prototype.targetForReq = async function (req) {
  const match = await targetForReq.call(this, req);
  if (match && !(await isHubRoute(this, match.prefix))) {
    const cookies = serverCookies(req.headers.cookie, patterns);
    if (cookies === undefined) delete req.headers.cookie;
    else req.headers.cookie = cookies;
    req[toServer] = true;
  }
  if (!this[toServer]) {
    // http-proxy-3 emits proxyRes before it copies the response's headers (web-incoming.js).
    this[toServer] = true;
    this.proxy.on("proxyRes", (proxyRes, proxiedReq) => {
      const set = proxyRes.headers["set-cookie"];
      if (proxiedReq[toServer] && set) proxyRes.headers["set-cookie"] = serverSetCookies(set, patterns);
    });
  }
  return match;
};

await import("configurable-http-proxy/bin/configurable-http-proxy");
