// Codecs for the `wasmesh.examples.v1` Greeter contract (proto/wasmesh/examples/v1/greeter.proto).
import { Reader, Writer, WireType } from "../protobuf";

/** `wasmesh.examples.v1.HelloRequest` */
export class HelloRequest {
  name: string = "";

  /** Decodes a request; `error` is set on malformed input. */
  static decode(buf: ArrayBuffer): HelloRequest {
    const m = new HelloRequest();
    const r = new Reader(buf);
    while (r.more) {
      const t = r.tag();
      if (t >> 3 == 1 && (t & 7) == WireType.LEN) m.name = r.string();
      else r.skip(t & 7);
    }
    m.error = r.error;
    return m;
  }

  error: string | null = null;

  encode(): ArrayBuffer {
    return new Writer().stringField(1, this.name).finish();
  }
}

/** `wasmesh.examples.v1.HelloReply` */
export class HelloReply {
  message: string = "";

  static decode(buf: ArrayBuffer): HelloReply {
    const m = new HelloReply();
    const r = new Reader(buf);
    while (r.more) {
      const t = r.tag();
      if (t >> 3 == 1 && (t & 7) == WireType.LEN) m.message = r.string();
      else r.skip(t & 7);
    }
    return m;
  }

  encode(): ArrayBuffer {
    return new Writer().stringField(1, this.message).finish();
  }
}
