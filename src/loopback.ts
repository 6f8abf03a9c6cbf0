/**
 * Whether a host can only be this machine: the one place that decides where plain http and relaxed checks are
 * allowed (Azurite, the sandbox's stand-ins), so the rule cannot differ between clients.
 */
export function isLoopbackHost(hostname: string): boolean {
  const host = hostname.toLowerCase();
  return host === 'localhost' || host === '[::1]' || host === '::1' || /^127(?:\.[0-9]{1,3}){3}$/.test(host);
}

/** An `http:` URL on a loopback host; false for anything unparseable. */
export function isLoopbackHttpUrl(value: string): boolean {
  return value.toLowerCase().startsWith('http:') && isLoopbackUrl(value);
}

/** A URL of any scheme on a loopback host; false for anything unparseable. */
export function isLoopbackUrl(value: string): boolean {
  try {
    return isLoopbackHost(new URL(value).hostname);
  } catch {
    return false;
  }
}
