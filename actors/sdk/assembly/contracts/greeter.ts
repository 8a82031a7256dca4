// The example `wasmesh.examples.v1` Greeter contract (proto/wasmesh/examples/v1/greeter.proto):
// its codecs and operation names, generated from the .proto (see actors/scripts/generate-codecs.mjs).
export * from "../gen/examples/greeter";
