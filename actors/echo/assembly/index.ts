// echo: returns its input unchanged. Operation: `Echo`.
import { register, Result } from "../../sdk/assembly";
export { __guest_call } from "../../sdk/assembly";

function echo(payload: ArrayBuffer): Result {
  return Result.ok(payload);
}

register("Echo", echo);
