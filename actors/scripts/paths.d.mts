/** The actors package directory. */
export declare const actorsDir: string;
/** Where `npm run build` writes the .wasm files. */
export declare const buildDir: string;
/** Names of the actors in this package. */
export declare function actorNames(): string[];
/** Names of the actors written in TypeScript and built as components. */
export declare function componentActorNames(): string[];
/** Names of the actors written in Rust and built as components by cargo. */
export declare function rustActorNames(): string[];
/** Path of the compiled actor `name` (e.g. `echo`). */
export declare function actorPath(name: string): string;
