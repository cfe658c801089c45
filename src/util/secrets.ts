/**
 * URLs and secrets. The rule: a URL's user-info (user:password@) is a credential. It is never shown, logged or stored
 * (redactUrl, withoutUserInfo), and a request to such a URL sends it as HTTP basic authentication (requestTarget), as
 * curl does: fetch() refuses a URL with credentials, quoting it whole in its error, and undici's request() drops them.
 */

/** An absolute URL's user-info in text: after the scheme, up to the authority's last @ (a password's @ is %40 there). */
const USER_INFO = /\b([a-z][a-z0-9+.-]*:\/\/)[^\s/?#]*@/gi;

/** The URL without its user-info (postgres://user:secret@host/db → postgres://host/db): how every URL is shown. */
export function redactUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.username === '' && parsed.password === '') return url;
    parsed.username = '';
    parsed.password = '';
    return parsed.toString();
  } catch {
    return withoutUserInfo(url);
  }
}

/** Every URL's user-info removed from a text (a message or a log line that may quote one). */
export function withoutUserInfo(text: string): string {
  return text.replace(USER_INFO, '$1');
}

/** Where a request goes: the URL without user-info, and the user-info as an Authorization header. */
export interface RequestTarget {
  url: string;
  /** `Basic base64(user:password)`, the user-info percent-decoded; absent when the URL has none. */
  authorization?: string;
  /** The headers to send with it: the Authorization header, or none. */
  headers: Record<string, string>;
  /** The password and the header's credentials, to scrub from anything that echoes them. */
  secrets: string[];
}

/** The request a URL asks for: its user-info, if any, becomes HTTP basic authentication (RFC 7617). */
export function requestTarget(url: string): RequestTarget {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return { url: withoutUserInfo(url), headers: {}, secrets: [] };
  }
  if (parsed.username === '' && parsed.password === '') return { url, headers: {}, secrets: [] };
  const decode = (text: string) => {
    try {
      return decodeURIComponent(text);
    } catch {
      return text;
    }
  };
  const credentials = Buffer.from(`${decode(parsed.username)}:${decode(parsed.password)}`).toString('base64');
  const secrets = [parsed.password, decode(parsed.password), credentials];
  parsed.username = '';
  parsed.password = '';
  const authorization = `Basic ${credentials}`;
  return { url: parsed.toString(), authorization, headers: { authorization }, secrets };
}

/** Removes every occurrence of the given secrets from a text. */
export function scrub(text: string, secrets: Iterable<string | undefined>): string {
  let out = text;
  for (const secret of secrets) {
    if (secret && secret.length >= 4) out = out.split(secret).join('***');
  }
  return out;
}
