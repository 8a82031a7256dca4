// hello: greets by name.
//   `SayHello`         payload: the name as UTF-8 text  -> "Hello, <name>!"
//   `Greeter.SayHello` payload: wasmesh.examples.v1.HelloRequest -> HelloReply (protobuf)
import { register, Result } from "../../sdk/assembly";
import { HelloReply, HelloRequest } from "../../sdk/assembly/contracts/greeter";
export { __guest_call } from "../../sdk/assembly";

function greeting(name: string): string {
  return "Hello, " + (name.length > 0 ? name : "World") + "!";
}

function sayHello(payload: ArrayBuffer): Result {
  return Result.okText(greeting(String.UTF8.decode(payload)));
}

function greeterSayHello(payload: ArrayBuffer): Result {
  const req = HelloRequest.decode(payload);
  if (req.error !== null) return Result.err("invalid HelloRequest: " + req.error!);
  const reply = new HelloReply();
  reply.message = greeting(req.name);
  return Result.ok(reply.encode());
}

register("SayHello", sayHello);
register("Greeter.SayHello", greeterSayHello);
