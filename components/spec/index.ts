/**
 * The pure study model: definitions, their Vertex JSON, validation, hashes and the best trial.
 * Nothing here does I/O; every backend and every entry point (component, provider, local
 * server, `tune`) shares it.
 */
export * from "./model";
export * from "./vertexJson";
export * from "./validate";
export * from "./argPaths";
export * from "./bestTrial";
export * from "./trials";
export * from "./printable";
export * from "./hash";
export * from "./config";
export * from "./build";
