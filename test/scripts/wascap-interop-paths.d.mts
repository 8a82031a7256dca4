/** test/wascap-interop/Cargo.toml. */
export declare const wascapInteropManifest: string;
/** The cargo target dir: CARGO_TARGET_DIR, else ~/.cache/wasmesh/cargo-target. */
export declare function wascapTargetDir(): string;
/** The built wascap interop program. */
export declare function wascapInteropBin(): string;
