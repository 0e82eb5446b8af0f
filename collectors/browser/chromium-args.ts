/**
 * Chromium flags for capture: headless, no GPU, no sandbox (containers), and nothing that reaches the
 * network except through the recording proxy:
 * - QUIC off (HTTP/3, WebTransport), so every request goes through the proxy over TCP;
 * - WebRTC limited to proxied connections (`disable_non_proxied_udp`: no host candidates, no STUN
 *   over UDP; TURN only through the proxy, which refuses it). Debian Chromium honours this switch,
 *   mapped to the `webrtc.ip_handling_policy` preference; `--force-webrtc-ip-handling-policy` does
 *   not exist in it (test/security/collector-network.test.ts counts the packets);
 * - the browser's own resolver answers NOTFOUND for every name but the proxy's address, so neither
 *   a page's DNS prefetch nor the browser's own update checks send a DNS query (the proxy resolves
 *   and checks every name the page really asks for);
 * - no background traffic of the browser's own (updates, sync, component downloads).
 *
 * Their one home: the pool launches with them and the bench's bare Playwright baseline imports them;
 * this module imports nothing, so that baseline still measures Playwright alone.
 */
export const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--webrtc-ip-handling-policy=disable_non_proxied_udp',
  '--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
] as const;
