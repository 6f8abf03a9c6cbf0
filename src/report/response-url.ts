/**
 * A Slack `response_url` the app may post to: https, no user info, and a host on the allow-list (by default
 * hooks.slack.com). An entry without a port allows only the default port; `host:port` allows that port. Checked
 * when the command arrives and again when a late outcome is sent.
 */
export function allowedResponseUrl(value: string | undefined, hosts: readonly string[]): string | undefined {
  if (value === undefined) return undefined;
  try {
    const url = new URL(value);
    // `url.host` carries the port only when it is not 443, so a bare host entry cannot admit another port.
    const allowed = hosts.includes(url.host.toLowerCase());
    return url.protocol === 'https:' && url.username === '' && url.password === '' && allowed
      ? url.href
      : undefined;
  } catch {
    return undefined;
  }
}
