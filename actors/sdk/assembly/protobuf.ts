// A small protobuf (proto3) wire-format reader and writer for contract payloads: varints, 64-bit
// varints, length-delimited fields (strings, bytes, nested messages) and skipping unknown fields.

/** Wire types of the protobuf encoding. */
export namespace WireType {
  export const VARINT: u32 = 0;
  export const I64: u32 = 1;
  export const LEN: u32 = 2;
  export const I32: u32 = 5;
}

/** Builds a protobuf message into a growing buffer. */
export class Writer {
  private buf: Uint8Array = new Uint8Array(64);
  private len: i32 = 0;

  private ensure(n: i32): void {
    if (this.len + n <= this.buf.length) return;
    let cap = this.buf.length * 2;
    while (cap < this.len + n) cap *= 2;
    const next = new Uint8Array(cap);
    next.set(this.buf.subarray(0, this.len));
    this.buf = next;
  }

  /** Writes an unsigned varint. */
  varint(v: u64): Writer {
    this.ensure(10);
    while (v >= 0x80) {
      this.buf[this.len++] = <u8>((v & 0x7f) | 0x80);
      v >>= 7;
    }
    this.buf[this.len++] = <u8>v;
    return this;
  }

  /** Writes a field key. */
  tag(field: u32, wireType: u32): Writer {
    return this.varint(<u64>((field << 3) | wireType));
  }

  /** Writes raw bytes prefixed by their length. */
  bytes(data: Uint8Array): Writer {
    this.varint(<u64>data.length);
    this.ensure(data.length);
    this.buf.set(data, this.len);
    this.len += data.length;
    return this;
  }

  /** Writes a UTF-8 string prefixed by its length. */
  string(s: string): Writer {
    return this.bytes(Uint8Array.wrap(String.UTF8.encode(s)));
  }

  /** `field: string` (omitted when empty, as proto3 does). */
  stringField(field: u32, s: string): Writer {
    if (s.length == 0) return this;
    return this.tag(field, WireType.LEN).string(s);
  }

  /** `field: bytes` (omitted when empty). */
  bytesField(field: u32, data: Uint8Array): Writer {
    if (data.length == 0) return this;
    return this.tag(field, WireType.LEN).bytes(data);
  }

  /** `field: message`, length-delimited (omitted when `data` is null). */
  messageField(field: u32, data: ArrayBuffer | null): Writer {
    if (data === null) return this;
    return this.tag(field, WireType.LEN).bytes(Uint8Array.wrap(data!));
  }

  /** `field: bool` (omitted when false). */
  boolField(field: u32, v: bool): Writer {
    return this.varintField(field, v ? 1 : 0);
  }

  /** `field: uint64/int64/uint32/int32/bool` as a varint (omitted when zero). */
  varintField(field: u32, v: u64): Writer {
    if (v == 0) return this;
    return this.tag(field, WireType.VARINT).varint(v);
  }

  /** The encoded message. */
  finish(): ArrayBuffer {
    return this.buf.slice(0, this.len).buffer;
  }
}

/** Reads a protobuf message. Malformed input sets `error` instead of trapping. */
export class Reader {
  private pos: i32 = 0;
  private readonly data: Uint8Array;
  /** Set when the input is malformed; reading stops. */
  error: string | null = null;

  constructor(buffer: ArrayBuffer) {
    this.data = Uint8Array.wrap(buffer);
  }

  /** True while there are bytes left and no error. */
  get more(): bool {
    return this.error === null && this.pos < this.data.length;
  }

  private bad(why: string): void {
    if (this.error === null) this.error = why + ' at byte ' + this.pos.toString();
    this.pos = this.data.length;
  }

  /** Reads an unsigned varint. */
  varint(): u64 {
    let result: u64 = 0;
    let shift: u64 = 0;
    while (true) {
      if (this.pos >= this.data.length) {
        this.bad('truncated varint');
        return 0;
      }
      const b = this.data[this.pos++];
      result |= (<u64>(b & 0x7f)) << shift;
      if ((b & 0x80) == 0) return result;
      shift += 7;
      if (shift >= 70) {
        this.bad('varint too long');
        return 0;
      }
    }
  }

  /** Reads a field key; returns `field << 3 | wireType`. */
  tag(): u32 {
    return <u32>this.varint();
  }

  /** Reads a length-delimited byte string. */
  bytes(): Uint8Array {
    const n = <i32>this.varint();
    if (n < 0 || this.pos + n > this.data.length) {
      this.bad('length ' + n.toString() + ' past the end');
      return new Uint8Array(0);
    }
    const out = this.data.slice(this.pos, this.pos + n);
    this.pos += n;
    return out;
  }

  /** Reads a length-delimited UTF-8 string. */
  string(): string {
    const b = this.bytes();
    return String.UTF8.decode(b.buffer);
  }

  /** Skips a field of `wireType`. */
  skip(wireType: u32): void {
    if (wireType == WireType.VARINT) this.varint();
    else if (wireType == WireType.LEN) this.bytes();
    else if (wireType == WireType.I64) this.advance(8);
    else if (wireType == WireType.I32) this.advance(4);
    else this.bad('unsupported wire type ' + wireType.toString());
  }

  private advance(n: i32): void {
    if (this.pos + n > this.data.length) this.bad('truncated fixed-size field');
    else this.pos += n;
  }
}
