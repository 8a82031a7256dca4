// Codecs of contract `wasmesh:httpserver` (proto/wasmesh/contracts/v1/httpserver.proto): an actor
// serving HTTP registers `HttpServer.HandleRequest`, decodes an HttpRequest and returns an
// encoded HttpResponse.
import { Reader, Writer, WireType } from "../protobuf";

/** The operation the HTTP server provider calls. */
export const HANDLE_REQUEST = "HttpServer.HandleRequest";

/** One header. */
export class Header {
  constructor(public name: string, public value: string) {}
}

function decodeHeader(buf: ArrayBuffer): Header {
  const h = new Header("", "");
  const r = new Reader(buf);
  while (r.more) {
    const t = r.tag();
    if (t >> 3 == 1 && (t & 7) == WireType.LEN) h.name = r.string();
    else if (t >> 3 == 2 && (t & 7) == WireType.LEN) h.value = r.string();
    else r.skip(t & 7);
  }
  return h;
}

/** `wasmesh.contracts.v1.HttpRequest` */
export class HttpRequest {
  method: string = "";
  path: string = "";
  query: string = "";
  headers: Header[] = [];
  body: ArrayBuffer = new ArrayBuffer(0);
  /** Set when the request could not be decoded. */
  error: string | null = null;

  /** The first header named `name` (case-insensitive), or null. */
  header(name: string): string | null {
    const lower = name.toLowerCase();
    for (let i = 0; i < this.headers.length; i++) if (this.headers[i].name.toLowerCase() == lower) return this.headers[i].value;
    return null;
  }

  static decode(buf: ArrayBuffer): HttpRequest {
    const m = new HttpRequest();
    const r = new Reader(buf);
    while (r.more) {
      const t = r.tag();
      const f = t >> 3;
      if ((t & 7) != WireType.LEN) {
        r.skip(t & 7);
        continue;
      }
      if (f == 1) m.method = r.string();
      else if (f == 2) m.path = r.string();
      else if (f == 3) m.query = r.string();
      else if (f == 4) m.headers.push(decodeHeader(r.bytes().buffer));
      else if (f == 5) m.body = r.bytes().buffer;
      else r.skip(t & 7);
    }
    m.error = r.error;
    return m;
  }
}

/** `wasmesh.contracts.v1.HttpResponse` */
export class HttpResponse {
  headers: Header[] = [];
  constructor(public status: u32 = 200, public body: ArrayBuffer = new ArrayBuffer(0)) {}

  /** A response with a UTF-8 text body and a text/plain content type. */
  static text(status: u32, text: string): HttpResponse {
    const r = new HttpResponse(status, String.UTF8.encode(text));
    r.headers.push(new Header("content-type", "text/plain; charset=utf-8"));
    return r;
  }

  encode(): ArrayBuffer {
    const w = new Writer().varintField(1, this.status);
    for (let i = 0; i < this.headers.length; i++) {
      const h = new Writer().stringField(1, this.headers[i].name).stringField(2, this.headers[i].value).finish();
      w.tag(2, WireType.LEN).bytes(Uint8Array.wrap(h));
    }
    return w.bytesField(3, Uint8Array.wrap(this.body)).finish();
  }
}
