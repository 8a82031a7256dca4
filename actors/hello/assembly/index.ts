// hello: greets by name.
//   `SayHello`         payload: the name as UTF-8 text  -> "Hello, <name>!"
//   `Greeter.SayHello` payload: wasmesh.examples.v1.HelloRequest -> HelloReply (protobuf)
//   `HttpServer.HandleRequest` (linked to an HTTP server): the last path segment is the name,
//                      `GET /hello/Ada` -> "Hello, Ada!"
import { register, Result } from "../../sdk/assembly";
import { Greeter, HelloReply, HelloRequest } from "../../sdk/assembly/contracts/greeter";
import { HttpRequest, HttpServer, textResponse } from "../../sdk/assembly/contracts/httpserver";
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

function handleRequest(payload: ArrayBuffer): Result {
  const req = HttpRequest.decode(payload);
  if (req.error !== null) return Result.ok(textResponse(400, "malformed request: " + req.error! + "\n").encode());
  const name = req.path.substring(req.path.lastIndexOf("/") + 1);
  return Result.ok(textResponse(200, greeting(name) + "\n").encode());
}

register("SayHello", sayHello);
register(HttpServer.HandleRequest, handleRequest);
register(Greeter.SayHello, greeterSayHello);
