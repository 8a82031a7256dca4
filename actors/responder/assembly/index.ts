// responder: the messaging example. It answers every message of its subscriptions (set in its
// wasmesh:messaging link's config) with "re: <body>"; the provider publishes that to the
// message's reply subject, so `nats req <subject> hello` gets "re: hello".
import { register, Result } from "../../sdk/assembly";
import { handleMessageResponse, Message, MessageHandler } from "../../sdk/assembly/contracts/messaging";
export { __guest_call } from "../../sdk/assembly";

function handle(payload: ArrayBuffer): Result {
  const msg = Message.decode(payload);
  if (msg.error !== null) return Result.err("malformed message: " + msg.error!);
  return Result.ok(handleMessageResponse(String.UTF8.encode("re: " + String.UTF8.decode(msg.body))));
}

register(MessageHandler.HandleMessage, handle);
