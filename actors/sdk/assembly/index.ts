// wasmesh's AssemblyScript guest SDK: waPC handlers, host calls, logging and protobuf codecs.
export { __guest_call, register, hostCall, callActor, ACTOR_CONTRACT, log, Result, Handler, abortHandler } from "./wapc";
export { Reader, Writer, WireType } from "./protobuf";
