// fib: computes fib(n) by naive recursion (a compute-bound benchmark actor).
//   `Fib` payload: n as decimal text (0..=45) -> fib(n) as decimal text
// The work doubles with each n: fib(30) takes milliseconds, fib(45) seconds.
import { register, Result } from "../../sdk/assembly";
export { __guest_call } from "../../sdk/assembly";

function fib(n: u32): u64 {
  return n < 2 ? <u64>n : fib(n - 1) + fib(n - 2);
}

function handle(payload: ArrayBuffer): Result {
  const text = String.UTF8.decode(payload).trim();
  if (text.length == 0 || text.length > 2) return Result.err("expected n as decimal text in 0..=45, got \"" + text + "\"");
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 48 || c > 57) return Result.err("expected n as decimal text in 0..=45, got \"" + text + "\"");
  }
  const n = <u32>I32.parseInt(text);
  if (n > 45) return Result.err("n must be at most 45, got " + n.toString());
  return Result.okText(fib(n).toString());
}

register("Fib", handle);
