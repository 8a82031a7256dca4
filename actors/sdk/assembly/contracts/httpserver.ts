// Contract `wasmesh:httpserver` (proto/wasmesh/contracts/v1/httpserver.proto): an actor serving
// HTTP registers `HttpServer.HandleRequest`, decodes an HttpRequest and returns an encoded
// HttpResponse. The codecs, contract id and operation names are generated from the .proto
// (../gen, see actors/scripts/generate-codecs.mjs); this module adds builders.
import { Header, HttpRequest, HttpResponse } from "../gen/contracts/httpserver";
export * from "../gen/contracts/httpserver";

/** A header. */
export function header(name: string, value: string): Header {
  const h = new Header();
  h.name = name;
  h.value = value;
  return h;
}

/** The first header of `req` named `name` (case-insensitive), or null. */
export function requestHeader(req: HttpRequest, name: string): string | null {
  const lower = name.toLowerCase();
  for (let i = 0; i < req.headers.length; i++) if (req.headers[i].name.toLowerCase() == lower) return req.headers[i].value;
  return null;
}

/** A response with `status` and `body`. */
export function response(status: u32, body: ArrayBuffer): HttpResponse {
  const r = new HttpResponse();
  r.status = status;
  r.body = body;
  return r;
}

/** A response with a UTF-8 text body and a text/plain content type. */
export function textResponse(status: u32, text: string): HttpResponse {
  const r = response(status, String.UTF8.encode(text));
  r.headers.push(header("content-type", "text/plain; charset=utf-8"));
  return r;
}
