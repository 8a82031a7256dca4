// Contract `wasmesh:messaging` (proto/wasmesh/contracts/v1/messaging.proto): an actor subscribed
// through its link handles `MessageHandler.HandleMessage`; it publishes and requests through
// the provider it is linked to.
import { hostCall, Result } from "../wapc";
import { Reader, Writer, WireType } from "../protobuf";

/** The contract id. */
export const MESSAGING = "wasmesh:messaging";
/** The operation the messaging provider calls for each message of the actor's subscriptions. */
export const HANDLE_MESSAGE = "MessageHandler.HandleMessage";

/** `wasmesh.contracts.v1.Message` */
export class Message {
  subject: string = "";
  replyTo: string = "";
  body: ArrayBuffer = new ArrayBuffer(0);
  error: string | null = null;

  static decode(buf: ArrayBuffer): Message {
    const m = new Message();
    const r = new Reader(buf);
    while (r.more) {
      const t = r.tag();
      const f = t >> 3;
      if ((t & 7) != WireType.LEN) r.skip(t & 7);
      else if (f == 1) m.subject = r.string();
      else if (f == 2) m.replyTo = r.string();
      else if (f == 3) m.body = r.bytes().buffer;
      else r.skip(t & 7);
    }
    m.error = r.error;
    return m;
  }

  encode(): ArrayBuffer {
    return new Writer().stringField(1, this.subject).stringField(2, this.replyTo).bytesField(3, Uint8Array.wrap(this.body)).finish();
  }
}

/** The answer to a handled message: `reply` is published to the message's reply subject. */
export function handleMessageResponse(reply: ArrayBuffer): ArrayBuffer {
  return new Writer().bytesField(1, Uint8Array.wrap(reply)).finish();
}

/** Publishes `body` on `subject` through the provider linked under `link`. */
export function publish(link: string, subject: string, body: ArrayBuffer): Result {
  const msg = new Message();
  msg.subject = subject;
  msg.body = body;
  return hostCall(link, MESSAGING, "Messaging.Publish", new Writer().messageField(1, msg.encode()).finish());
}
