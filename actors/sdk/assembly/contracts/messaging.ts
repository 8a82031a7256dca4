// Contract `wasmesh:messaging` (proto/wasmesh/contracts/v1/messaging.proto): an actor subscribed
// through its link handles `MessageHandler.HandleMessage`; it publishes and requests through the
// provider it is linked to. The codecs, contract id and operation names are generated from the
// .proto (../gen, see actors/scripts/generate-codecs.mjs); this module adds the calls.
import { hostCall, Result } from "../wapc";
import { HandleMessageResponse, Message, MESSAGING, Messaging, PublishRequest } from "../gen/contracts/messaging";
export * from "../gen/contracts/messaging";

/** The answer to a handled message: `reply` is published to the message's reply subject. */
export function handleMessageResponse(reply: ArrayBuffer): ArrayBuffer {
  const res = new HandleMessageResponse();
  res.reply = reply;
  return res.encode();
}

/** Publishes `body` on `subject` through the provider linked under `link`. */
export function publish(link: string, subject: string, body: ArrayBuffer): Result {
  const msg = new Message();
  msg.subject = subject;
  msg.body = body;
  const req = new PublishRequest();
  req.message = msg;
  return hostCall(link, MESSAGING, Messaging.Publish, req.encode());
}
