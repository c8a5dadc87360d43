/** The chat endpoint as a URL: `wss://` and `ws://` (WebSocket), `ircs://` (TLS) and `irc://` (plain TCP). */
import { ConfigError } from '../errors.js';

export interface ChatEndpoint {
  transport: 'ws' | 'tcp';
  secure: boolean;
  host: string;
  port: number;
  /** The WebSocket URL, for `ws` endpoints. */
  url: string;
  /** For messages (never carries credentials). */
  display: string;
}

export function parseChatUrl(raw: string): ChatEndpoint {
  let u: URL;
  try {
    u = new URL(raw);
  } catch {
    throw new ConfigError(`collect.chat_url: not a URL: "${raw}"`);
  }
  const scheme = u.protocol.replace(/:$/, '');
  const defaults: Record<string, number> = { ws: 80, wss: 443, irc: 6667, ircs: 6697 };
  if (!(scheme in defaults)) {
    throw new ConfigError(
      `collect.chat_url: scheme must be wss, ws, irc or ircs, got "${scheme}" in "${raw}"`,
    );
  }
  if (u.username || u.password)
    throw new ConfigError('collect.chat_url: must not carry credentials (use collect.token_env)');
  const host = u.hostname.replace(/^\[|\]$/g, '');
  const port = u.port ? Number(u.port) : (defaults[scheme] as number);
  const ws = scheme === 'ws' || scheme === 'wss';
  return {
    transport: ws ? 'ws' : 'tcp',
    secure: scheme === 'wss' || scheme === 'ircs',
    host,
    port,
    url: ws ? `${scheme}://${u.host}${u.pathname === '/' ? '' : u.pathname}` : '',
    display: `${scheme}://${u.host}`,
  };
}
