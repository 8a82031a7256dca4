// kvcounter: answers `GET /counter/<name>` by incrementing <name> in the key-value store it is
// linked to (link "default", contract wasmesh:keyvalue) and returning the new count.
import { log, register, Result } from "../../sdk/assembly";
import { HttpRequest, HttpServer, textResponse } from "../../sdk/assembly/contracts/httpserver";
import { increment } from "../../sdk/assembly/contracts/keyvalue";
export { __guest_call } from "../../sdk/assembly";

const PREFIX = "/counter/";

function handle(payload: ArrayBuffer): Result {
  const req = HttpRequest.decode(payload);
  if (req.error !== null) return Result.ok(textResponse(400, "malformed request: " + req.error! + "\n").encode());
  if (!req.path.startsWith(PREFIX)) return Result.ok(textResponse(404, "try GET /counter/<name>\n").encode());
  if (req.method != "GET") return Result.ok(textResponse(405, "only GET is allowed\n").encode());
  const name = req.path.substring(PREFIX.length);
  if (name.length == 0 || name.length > 200) return Result.ok(textResponse(400, "the counter name must be 1-200 characters\n").encode());
  const count = increment("default", "counter:" + name, 1);
  if (!count.isOk) {
    log("increment of " + name + " failed: " + count.error!);
    return Result.ok(textResponse(503, "the key-value store is unavailable: " + count.error! + "\n").encode());
  }
  return Result.ok(textResponse(200, count.value.toString() + "\n").encode());
}

register(HttpServer.HandleRequest, handle);
