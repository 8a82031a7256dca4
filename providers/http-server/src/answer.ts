/**
 * The one shape of every error answer of the provider, whether the gateway, the listener or the
 * raw socket (a request the parser refused) sends it: the stable code in `X-Wasmesh-Error`, and a
 * body that is plain text `<status> <reason phrase>: <why>` or, for clients that accept JSON,
 * `{"error": {"code", "message"}}`. Without details (config `error_details`) the why is only the
 * reason phrase, so a public listener never describes actors or the lattice.
 */
import http from 'node:http';

/** How an error answer is written. */
export interface AnswerStyle {
  /** The client accepts `application/json`. */
  json: boolean;
  /** The body says why ({@link HttpListener.errorDetails}). */
  details: boolean;
}

/** The headers and body of an error answer with `status`, `code` and `message`. */
export function errorAnswer(
  status: number,
  code: string,
  message: string,
  style: AnswerStyle,
): { headers: Record<string, string>; body: string } {
  const phrase = http.STATUS_CODES[status] ?? 'Error';
  const why = style.details ? message : phrase;
  const body = style.json ? JSON.stringify({ error: { code, message: why } }) : `${status} ${phrase}: ${why}\n`;
  return {
    headers: {
      'content-type': style.json ? 'application/json' : 'text/plain; charset=utf-8',
      'content-length': String(Buffer.byteLength(body)),
      'x-wasmesh-error': code,
    },
    body,
  };
}

/** An error answer as raw HTTP/1.1 bytes that close the connection, for sockets without a response object. */
export function rawErrorAnswer(status: number, code: string, message: string, details: boolean): string {
  const { headers, body } = errorAnswer(status, code, message, { json: false, details });
  const lines = Object.entries({ connection: 'close', ...headers }).map(([k, v]) => `${k}: ${v}\r\n`);
  return `HTTP/1.1 ${status} ${http.STATUS_CODES[status] ?? 'Error'}\r\n${lines.join('')}\r\n${body}`;
}
